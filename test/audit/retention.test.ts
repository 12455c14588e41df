import { createCarebase, isCarebaseError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
const DAY = 86_400_000;

beforeAll(async () => {
  f = await auditFixture();
});

afterAll(async () => {
  await f?.close();
});

function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

describe('cb.audit.applyRetention', () => {
  it('drops the oldest whole partitions, audits itself, and the rest still verifies', async () => {
    const oldest = new Date(Date.now() - 82 * 30 * DAY);
    const older = new Date(Date.now() - 75 * 30 * DAY);
    for (const at of [oldest, oldest, older]) {
      await f.cb.audit.log({ action: 'legacy.import', resourceType: 'chart', occurredAt: at });
    }
    for (let i = 0; i < 3; i++) await f.cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
    expect((await f.cb.audit.verify()).ok).toBe(true);

    // Six months from now, the month `oldest` is in lies entirely outside the 84-month window.
    const now = new Date(Date.now() + 6 * 30 * DAY);
    // Audit retention is owner-only: the app role cannot drop audit partitions (nothing dropped).
    const refused = await f.cb.audit.applyRetention({ now }).catch((error: unknown) => error);
    expect(isCarebaseError(refused, 'QUERY_FAILED')).toBe(true);
    expect((refused as { sqlState?: string }).sqlState).toBe('42501');
    expect((refused as Error).message).toContain('run as the owner');
    await using owner = createCarebase({ connectionString: f.database.ownerUrl });
    const result = await owner.audit.applyRetention({ now });
    expect(result.droppedMonths).toContain(monthOf(oldest));
    expect(result.droppedMonths).not.toContain(monthOf(older));
    expect(result.cutoff.getTime()).toBeLessThan(older.getTime());

    const { rows } = await f.admin(
      `select to_regclass('audit_log_p' || $1) as log, to_regclass('audit_chain_p' || $1) as chain`,
      [monthOf(oldest).replace('-', '')],
    );
    expect(rows[0]).toEqual({ log: null, chain: null });
    const remaining = await f.cb.db
      .selectFrom('audit_log')
      .select('occurred_at')
      .where('action', '=', 'legacy.import')
      .execute();
    expect(remaining.map((row) => row.occurred_at)).toEqual([older]);

    const entry = await f.cb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'audit.retention')
      .executeTakeFirstOrThrow();
    expect(entry.metadata).toMatchObject({ droppedMonths: result.droppedMonths, retentionMonths: 84 });

    expect(await f.cb.audit.verify()).toMatchObject({ ok: true });
    // Idempotent: nothing more to drop.
    expect((await owner.audit.applyRetention({ now })).droppedMonths).toEqual([]);
  });

  it('a partition dropped outside the retention path is reported', async () => {
    const at = new Date(Date.now() - 40 * 30 * DAY);
    await f.cb.audit.log({
      action: 'legacy.import',
      resourceType: 'chart',
      resourceId: 'lost',
      occurredAt: at,
    });
    expect((await f.cb.audit.verify()).ok).toBe(true);
    const suffix = monthOf(at).replace('-', '');
    await f.admin(`drop table audit_log_p${suffix}`);
    expect(await f.cb.audit.verify()).toMatchObject({ ok: false, reason: 'partition_missing' });
    await f.admin(`drop table audit_chain_p${suffix}`);
    await f.admin(
      `update audit_chain_head set retired_at = now() where month = date_trunc('month', $1::timestamptz at time zone 'UTC') at time zone 'UTC'`,
      [at],
    );
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });

  it('refuses a retention shorter than 6 years unless allowShortRetention is set', () => {
    const error = (() => {
      try {
        createCarebase({ audit: { retentionMonths: 12 } });
      } catch (e) {
        return e;
      }
    })();
    expect(isCarebaseError(error, 'INVALID_CONFIGURATION')).toBe(true);
    expect(() => createCarebase({ audit: { retentionMonths: 12, allowShortRetention: true } })).not.toThrow();
  });
});
