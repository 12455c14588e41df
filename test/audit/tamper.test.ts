import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;

beforeAll(async () => {
  f = await auditFixture();
});

afterAll(async () => {
  await f?.close();
});

async function logSome(n: number, tag: string): Promise<string[]> {
  for (let i = 0; i < n; i++) {
    await f.cb.audit.log({
      action: 'chart.view',
      resourceType: 'chart',
      resourceId: `${tag}-${i}`,
      changes: { i },
    });
  }
  // Sealed before anyone tampers (the background pass runs up to 50 ms after the writes).
  await f.cb.audit.seal();
  const rows = await f.cb.db
    .selectFrom('audit_log')
    .select('id')
    .where('resource_id', 'like', `${tag}-%`)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.id);
}

describe('cb.audit.verify', () => {
  it('is ok on an untouched log and counts the entries it checked', async () => {
    const ids = await logSome(5, 'clean');
    const result = await f.cb.audit.verify();
    expect(result).toEqual({ ok: true, checked: expect.any(Number) });
    expect(result.checked).toBeGreaterThanOrEqual(ids.length);
  });

  it('names an entry altered by a superuser with triggers disabled', async () => {
    const ids = await logSome(5, 'alter');
    const target = ids[2];
    await f.tamper(`update audit_log set outcome = 'failure' where id = $1`, [target]);
    const result = await f.cb.audit.verify();
    expect(result).toMatchObject({ ok: false, firstBadId: target, reason: 'entry_altered' });
    await f.tamper(`update audit_log set outcome = 'success' where id = $1`, [target]);
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });

  it('names an entry altered together with its stored row hash', async () => {
    const ids = await logSome(3, 'rehash');
    const target = ids[1];
    await f.tamper(`update audit_log set changes = '{"i": 99}', row_hash = sha256('x') where id = $1`, [
      target,
    ]);
    expect(await f.cb.audit.verify()).toMatchObject({
      ok: false,
      firstBadId: target,
      reason: 'entry_altered',
    });
    await f.tamper(`update audit_log set changes = '{"i": 1}' where id = $1`, [target]);
  });

  it('names a deleted entry, with or without its chain link', async () => {
    const ids = await logSome(5, 'delete');
    const [first, second] = [ids[1], ids[3]];
    const saved = await f.admin('select * from audit_log where id = $1', [first]);
    await f.tamper('delete from audit_log where id = $1', [first]);
    expect(await f.cb.audit.verify()).toMatchObject({
      ok: false,
      firstBadId: first,
      reason: 'entry_removed',
    });
    // Put it back exactly as it was, then remove another entry and its link too.
    const row = saved.rows[0] as Record<string, unknown>;
    const columns = Object.keys(row);
    await f.tamper(
      `insert into audit_log (${columns.join(', ')}) overriding system value values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((column) => row[column]),
    );
    expect((await f.cb.audit.verify()).ok).toBe(true);
    await f.tamper('delete from audit_log where id = $1', [second]);
    await f.tamper('delete from audit_chain where id = $1', [second]);
    expect(await f.cb.audit.verify()).toMatchObject({
      ok: false,
      firstBadId: second,
      reason: 'entry_removed',
    });
  });
});

describe('cb.audit.verify on a fresh log', () => {
  let g: AuditFixture;
  beforeAll(async () => {
    g = await auditFixture({ schema: 'audit_fresh' });
  });
  afterAll(async () => {
    await g?.close();
  });

  it('names an entry inserted out of band, and the newest entry removed with its link', async () => {
    for (let i = 0; i < 4; i++) await g.cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
    const inserted = await g.tamper(
      `insert into audit_log (occurred_at, action, resource_type) values (now() - interval '1 second', 'chart.view', 'chart') returning id`,
    );
    const id = String(inserted.rows[0]?.id);
    expect(await g.cb.audit.verify()).toMatchObject({
      ok: false,
      firstBadId: id,
      reason: 'entry_inserted_out_of_band',
    });
    await g.admin(`set session_replication_role = replica; delete from audit_log where id = ${Number(id)}`);
    expect((await g.cb.audit.verify()).ok).toBe(true);

    // The newest entry removed with its chain link: the chain head no longer matches.
    const newest = await g.admin('select max(id)::text as id from audit_chain');
    const newestId = String(newest.rows[0]?.id);
    await g.tamper('delete from audit_log where id = $1', [newestId]);
    await g.tamper('delete from audit_chain where id = $1', [newestId]);
    expect(await g.cb.audit.verify()).toMatchObject({
      ok: false,
      firstBadId: newestId,
      reason: 'entry_removed',
    });
  });
});
