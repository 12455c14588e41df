import { ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
const alice = '11111111-1111-4111-8111-111111111111';
const bob = '22222222-2222-4222-8222-222222222222';
const base = Date.now() - 3_600_000;

beforeAll(async () => {
  f = await auditFixture();
  for (let i = 0; i < 30; i++) {
    await f.cb.audit.log({
      action: i % 3 === 0 ? 'user.login' : 'chart.view',
      resourceType: i % 2 === 0 ? 'chart' : 'user',
      resourceId: `r-${i % 5}`,
      subjectId: i % 10 === 0 ? 'patient-1' : undefined,
      outcome: i % 7 === 0 ? 'failure' : 'success',
      userId: i % 2 === 0 ? alice : bob,
      // Several entries share a timestamp, so the keyset must break ties by id.
      occurredAt: new Date(base + Math.floor(i / 3) * 1000),
    } as never);
  }
});

afterAll(async () => {
  await f?.close();
});

describe('cb.audit.query', () => {
  it('pages newest first through every matching entry exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await f.cb.audit.query({ userId: alice, limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((item) => item.id));
      for (const item of page.items) expect(item.userId).toBe(alice);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const expected = await f.cb.db
      .selectFrom('audit_log')
      .select('id')
      .where('actor_user_id', '=', alice)
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(seen).toEqual(expected.map((row) => row.id));
    expect(seen).toHaveLength(15);
  });

  it('combines filters', async () => {
    const { items } = await f.cb.audit.query({ action: 'user.login', outcome: 'failure' });
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) expect(item).toMatchObject({ action: 'user.login', outcome: 'failure' });
    const bySubject = await f.cb.audit.query({ subjectId: 'patient-1' });
    expect(bySubject.items).toHaveLength(3);
    const byResource = await f.cb.audit.query({ resourceType: 'chart', resourceId: 'r-0' });
    for (const item of byResource.items)
      expect(item).toMatchObject({ resourceType: 'chart', resourceId: 'r-0' });
    const window = await f.cb.audit.query({ from: new Date(base), to: new Date(base + 2000) });
    expect(window.items).toHaveLength(6);
    expect(window.items[0]?.occurredAt.getTime()).toBe(base + 1000);
  });

  it('refuses a forged cursor', async () => {
    await expect(f.cb.audit.query({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError);
  });

  it.each([
    ['userId', `actor_user_id = '${alice}'`, 'audit_log_p\\d+_actor_user_id'],
    ['action', `action = 'user.login'`, 'audit_log_p\\d+_action'],
    ['resource', `resource_type = 'chart' and resource_id = 'r-1'`, 'audit_log_p\\d+_resource_type'],
    ['subjectId', `subject_id = 'patient-1'`, 'audit_log_p\\d+_subject_id'],
    ['no filter', 'true', 'audit_log_p\\d+_pkey'],
  ])('the %s query is served by an index', async (_name, where, index) => {
    // One session: seq scans off so the tiny test table still shows which index would serve it,
    // with statistics (as autovacuum keeps them): without any, the planner guesses 40 rows per
    // empty partition and may prefer sorting them.
    await f.admin('analyze audit_log');
    const results = (await f.admin(
      `set enable_seqscan = off; explain select * from audit_log where ${where} and (occurred_at, id) < (now(), 9223372036854775807) order by occurred_at desc, id desc limit 51`,
    )) as unknown as { rows: Record<string, string>[] }[];
    const rows = results[1]?.rows ?? [];
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toMatch(new RegExp(index));
    expect(plan).not.toMatch(/Seq Scan/);
    expect(plan).not.toMatch(/Sort/);
  });
});
