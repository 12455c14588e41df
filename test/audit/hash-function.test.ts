import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

/**
 * Migration 0048 computes an entry's hash in audit_row_hash() (PL/pgSQL, the trigger calls it)
 * instead of through the nested SQL functions of 0024. The bytes must not change: every entry,
 * in both forms (v1: no compliance field set; v2: any set), hashes exactly as the reference
 * function audit_entry_hash_v2() says, the stored hash equals the recomputed one, and the chain
 * still verifies.
 */
let f: AuditFixture;

beforeAll(async () => {
  f = await auditFixture({ schema: 'audit_hash_fn' });
});

afterAll(async () => {
  await f?.close();
});

describe('audit entry hash (0048)', () => {
  it('hashes both forms exactly as audit_entry_hash_v2(), in the trigger and in audit_row_hash()', async () => {
    const base = { action: 'chart.view', resourceType: 'chart', subjectId: 'patient-h' } as const;
    await f.cb.audit.log({ ...base, resourceId: 'v1-plain' });
    await f.cb
      .withActor({
        userId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
        ip: '10.0.0.7',
        userAgent: 'ua',
        requestId: 'r-1',
      })
      .audit.log({
        ...base,
        resourceId: 'v1-full',
        outcome: 'failure',
        changes: { dose: { from: 1, to: 2 } },
        metadata: { ward: 'B' },
      });
    await f.cb.audit.log({ ...base, resourceId: 'v2-severity', severity: 'high' });
    await f.cb.audit.log({
      ...base,
      resourceId: 'v2-purpose',
      purposeOfUse: 'TREAT',
      legalBasis: 'HIPAA',
      recipient: 'Dr. B',
      description: 'd',
    });
    await f.cb
      .withActor({ userId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', breakGlass: { reason: 'emergency' } })
      .audit.log({ ...base, resourceId: 'v2-glass' });
    const { rows } = await f.admin(`select resource_id,
        row_hash = audit_row_hash(l) as stored_matches,
        audit_row_hash(l) = audit_entry_hash_v2(l.id, l.occurred_at, l.actor_user_id, l.actor_type, l.action,
          l.resource_type, l.resource_id, l.subject_id, l.outcome, l.outcome_detail, l.ip, l.user_agent,
          l.request_id, l.changes, l.metadata, l.txid, l.severity, l.purpose_of_use, l.legal_basis, l.recipient,
          l.description, l.break_glass, l.break_glass_reason) as reference_matches,
        (select lanname from pg_proc p join pg_language g on g.oid = p.prolang where p.oid = 'audit_row_hash(audit_log)'::regprocedure) as language
      from audit_log l where subject_id = 'patient-h' order by resource_id`);
    expect(rows).toEqual(
      ['v1-full', 'v1-plain', 'v2-glass', 'v2-purpose', 'v2-severity'].map((resource_id) => ({
        resource_id,
        stored_matches: true,
        reference_matches: true,
        language: 'plpgsql',
      })),
    );
    await f.cb.audit.seal();
    expect(await f.cb.audit.verify()).toMatchObject({ ok: true });
  });

  it('a changed field no longer matches its hash (the recomputation reads every field)', async () => {
    await f.cb.audit.log({
      action: 'chart.view',
      resourceType: 'chart',
      resourceId: 'tampered',
      severity: 'notice',
    });
    await f.cb.audit.seal();
    await f.tamper(`update audit_log set recipient = 'someone else' where resource_id = 'tampered'`);
    const { rows } = await f.admin(
      `select row_hash = audit_row_hash(l) as matches from audit_log l where resource_id = 'tampered'`,
    );
    expect(rows).toEqual([{ matches: false }]);
    expect(await f.cb.audit.verify()).toMatchObject({ ok: false });
  });
});
