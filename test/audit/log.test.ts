import { isCarebaseError, ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
const userId = '0b8f5e5e-8a4c-4e43-9c3f-2f1f3c9a7d11';

beforeAll(async () => {
  f = await auditFixture({ audit: { redactKeys: ['password', 'token', 'SSN'] } });
});

afterAll(async () => {
  await f?.close();
});

async function count(): Promise<number> {
  const row = await f.cb.db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('cb.audit.log', () => {
  it('stores every field of the entry', async () => {
    const occurredAt = new Date(Date.now() - 60_000);
    await f.cb.audit.log({
      action: 'chart.update',
      resourceType: 'chart',
      resourceId: 'c-1',
      subjectId: 'patient-9',
      outcome: 'failure',
      outcomeDetail: 'stale_version',
      userId,
      actorType: 'service',
      ip: '2001:db8::1',
      userAgent: 'curl/8',
      requestId: 'req-1',
      changes: { dose: { from: 1, to: 2 } },
      metadata: { ward: 'B' },
      occurredAt,
    });
    const row = await f.cb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('resource_id', '=', 'c-1')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      occurred_at: occurredAt,
      actor_user_id: userId,
      actor_type: 'service',
      action: 'chart.update',
      resource_type: 'chart',
      resource_id: 'c-1',
      subject_id: 'patient-9',
      outcome: 'failure',
      outcome_detail: 'stale_version',
      ip: '2001:db8::1',
      user_agent: 'curl/8',
      request_id: 'req-1',
      changes: { dose: { from: 1, to: 2 } },
      metadata: { ward: 'B' },
    });
    expect(row.row_hash).toBeInstanceOf(Buffer);
    expect(row.row_hash?.length).toBe(32);
  });

  it('defaults to a system actor, success and the clock', async () => {
    const before = Date.now();
    await f.cb.audit.log({ action: 'backup.create', resourceType: 'backup', resourceId: 'defaults' });
    const row = await f.cb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('resource_id', '=', 'defaults')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ actor_user_id: null, actor_type: 'system', outcome: 'success', ip: null });
    expect(row.occurred_at.getTime()).toBeGreaterThanOrEqual(before - 1);
  });

  it.each([
    ['a bad action', { action: 'User Login', resourceType: 'user' }, 'action'],
    ['a bad ip', { action: 'user.login', resourceType: 'user', ip: '300.1.1.1' }, 'ip'],
    ['a bad user id', { action: 'user.login', resourceType: 'user', userId: 'nope' }, 'userId'],
    ['an unknown field', { action: 'user.login', resourceType: 'user', password: 'x' }, ''],
    ['a missing resource type', { action: 'user.login' }, 'resourceType'],
    [
      'an outcome outside the enum',
      { action: 'user.login', resourceType: 'user', outcome: 'maybe' },
      'outcome',
    ],
    [
      'a date before the retention period',
      { action: 'user.login', resourceType: 'user', occurredAt: new Date('1999-01-01') },
      'occurredAt',
    ],
    [
      'a date more than a day ahead',
      { action: 'user.login', resourceType: 'user', occurredAt: new Date(Date.now() + 3 * 86_400_000) },
      'occurredAt',
    ],
  ])('refuses %s with a ValidationError and writes nothing', async (_name, entry, field) => {
    const before = await count();
    const error = await f.cb.audit.log(entry as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(isCarebaseError(error, 'VALIDATION_FAILED')).toBe(true);
    if (field !== '') expect((error as ValidationError).issues[0]?.path).toEqual([field]);
    expect(await count()).toBe(before);
  });

  it('redacts configured keys at any depth, case-insensitively, in changes and metadata', async () => {
    await f.cb.audit.log({
      action: 'user.update',
      resourceType: 'user',
      resourceId: 'redact',
      changes: {
        Password: 'hunter2',
        profile: { ssn: '123-45-6789', name: 'Ann' },
        list: [{ TOKEN: 'abc' }],
      },
      metadata: { nested: { deeper: { password: 'p' } }, keep: 'visible' },
    });
    const row = await f.cb.db
      .selectFrom('audit_log')
      .select(['changes', 'metadata'])
      .where('resource_id', '=', 'redact')
      .executeTakeFirstOrThrow();
    expect(row.changes).toEqual({
      Password: '[redacted]',
      profile: { ssn: '[redacted]', name: 'Ann' },
      list: [{ TOKEN: '[redacted]' }],
    });
    expect(row.metadata).toEqual({ nested: { deeper: { password: '[redacted]' } }, keep: 'visible' });
    const text = JSON.stringify(row);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('123-45-6789');
  });

  it('creates a missing monthly partition on demand, far in the past and ahead', async () => {
    const past = new Date(Date.now() - 80 * 30 * 86_400_000); // ~6.6 years back, inside 7-year retention
    const ahead = new Date(Date.now() + 20 * 3_600_000);
    await f.cb.audit.log({
      action: 'legacy.import',
      resourceType: 'chart',
      resourceId: 'past',
      occurredAt: past,
    });
    await f.cb.audit.log({
      action: 'legacy.import',
      resourceType: 'chart',
      resourceId: 'ahead',
      occurredAt: ahead,
    });
    // Also inside a transaction that creates the partition and then rolls back: the next write must not trust it.
    const older = new Date(Date.now() - 70 * 30 * 86_400_000);
    await expect(
      f.cb.transaction(async (tx) => {
        await tx.audit.log({ action: 'legacy.import', resourceType: 'chart', occurredAt: older });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    await f.cb.audit.log({
      action: 'legacy.import',
      resourceType: 'chart',
      resourceId: 'older',
      occurredAt: older,
    });
    const ids = await f.cb.db
      .selectFrom('audit_log')
      .select('resource_id')
      .where('action', '=', 'legacy.import')
      .execute();
    expect(ids.map((row) => row.resource_id).sort()).toEqual(['ahead', 'older', 'past']);
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });

  it('keeps the next months created ahead', async () => {
    await f.cb.audit.ensurePartitions();
    const { rows } = await f.admin(`select count(*)::int as n from pg_class where relname = any($1)`, [
      [1, 2].map((ahead) => {
        const d = new Date();
        const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + ahead, 1));
        return `audit_log_p${m.getUTCFullYear()}${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
      }),
    ]);
    expect(rows[0]?.n).toBe(2);
  });
});
