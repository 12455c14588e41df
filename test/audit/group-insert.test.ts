import { createCarebase, isCarebaseError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

/**
 * cb.audit.log() outside a transaction groups concurrent entries into one statement. With
 * sealAfterWrite, that statement inserts and seals them in one transaction: each call resolves
 * with its own entry committed and already linked into the chain, and an entry the database
 * refuses fails only its own call. By default it only inserts, and a background pass seals.
 */
let f: AuditFixture;
let background: AuditFixture;

beforeAll(async () => {
  [f, background] = await Promise.all([
    auditFixture({ pool: { max: 4 }, audit: { sealAfterWrite: true } }),
    auditFixture({ pool: { max: 4 } }), // the default: sealAfterWrite false
  ]);
});

afterAll(async () => {
  await Promise.all([f?.close(), background?.close()]);
});

async function counts(fixture: AuditFixture): Promise<{ entries: number; links: number }> {
  const { rows } = await fixture.admin(
    'select (select count(*)::int from audit_log) as entries, (select count(*)::int from audit_chain) as links',
  );
  return rows[0] as { entries: number; links: number };
}

describe('grouped audit inserts', () => {
  it('resolves every concurrent log() with its entry committed and sealed', async () => {
    const before = await counts(f);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        f.cb.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: `g-${i}` }),
      ),
    );
    // No seal() or verify() in between: the links were committed with the entries.
    expect(await counts(f)).toEqual({ entries: before.entries + 40, links: before.links + 40 });
    const { rows } = await f.admin(
      "select resource_id from audit_log where resource_id like 'g-%' order by 1",
    );
    expect(rows.map((row) => row.resource_id)).toEqual(Array.from({ length: 40 }, (_, i) => `g-${i}`).sort());
    expect(await f.cb.audit.verify()).toEqual({ ok: true, checked: before.entries + 40 });
  });

  it('fails only the entry the database refuses; the rest of its group is written and sealed', async () => {
    const before = await counts(f);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        f.cb.audit.log({
          action: 'chart.view',
          resourceType: 'chart',
          resourceId: `bad-${i}`,
          // jsonb refuses \u0000 (22P05), which the entry schema cannot know.
          metadata: i === 3 ? { note: 'nul \u0000 byte' } : { i },
        }),
      ),
    );
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const failure = (results[3] as PromiseRejectedResult).reason;
    expect(isCarebaseError(failure)).toBe(true);
    expect(String((failure as Error).message)).not.toContain('nul');
    expect(await counts(f)).toEqual({ entries: before.entries + 5, links: before.links + 5 });
    const { rows } = await f.admin(
      "select resource_id from audit_log where resource_id like 'bad-%' order by 1",
    );
    expect(rows.map((row) => row.resource_id)).toEqual(['bad-0', 'bad-1', 'bad-2', 'bad-4', 'bad-5']);
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });

  it('by default (sealAfterWrite: false) resolves after the insert and seals in the background', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        background.cb.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: `b-${i}` }),
      ),
    );
    expect((await counts(background)).entries).toBe(20);
    for (let i = 0; i < 50 && (await counts(background)).links < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await counts(background)).toEqual({ entries: 20, links: 20 });
    expect(await background.cb.audit.verify()).toEqual({ ok: true, checked: 20 });
  });

  it('writers logging in a loop share statements: the next group takes every writer that resumed', async () => {
    const groups: number[] = [];
    const cb = createCarebase({
      connectionString: background.database.url,
      pool: { max: 4 },
      onQuery: (event) => {
        if (event.operation === 'INSERT' && event.table?.endsWith('audit_log') === true)
          groups.push(event.rowCount ?? 0);
      },
    });
    try {
      await Promise.all(
        Array.from({ length: 8 }, async (_, writer) => {
          for (let i = 0; i < 40; i++)
            await cb.audit.log({
              action: 'chart.view',
              resourceType: 'chart',
              resourceId: `w${writer}-${i}`,
            });
        }),
      );
    } finally {
      await cb.close();
    }
    expect(groups.reduce((sum, size) => sum + size, 0)).toBe(320);
    // When a group commits, its writers resume and log again within the same run of microtasks.
    // Sent on the first arrival, the first of them went alone: 122-134 statements here. Waiting
    // for that run to end, two groups of four take turns: 81-82.
    expect(groups.length).toBeLessThanOrEqual(100);
  });
});
