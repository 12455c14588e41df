import { randomBytes } from 'node:crypto';
import { isCarebaseError } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;

beforeAll(async () => {
  f = await auditFixture();
  for (let i = 0; i < 3; i++) await f.cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
});

afterAll(async () => {
  await f?.close();
});

function partitionName(): string {
  const now = new Date();
  return `audit_log_p${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

describe('append-only audit tables', () => {
  it.each([
    ['UPDATE', 'update carebase.audit_log set outcome = $$failure$$'],
    ['DELETE', 'delete from carebase.audit_log'],
    ['TRUNCATE', 'truncate carebase.audit_log'],
    ['UPDATE of a partition', `update carebase.${partitionName()} set action = $$x.y$$`],
    ['DELETE from a partition', `delete from carebase.${partitionName()}`],
    ['TRUNCATE of a partition', `truncate carebase.${partitionName()}`],
    ['UPDATE of the chain', 'update carebase.audit_chain set seq = 0'],
    ['DELETE from the chain', 'delete from carebase.audit_chain'],
    ['TRUNCATE of the chain', 'truncate carebase.audit_chain'],
  ])('refuses %s by the table owner (the app role) with a typed error', async (_name, text) => {
    const error = await sql
      .raw(text)
      .execute(f.cb.db)
      .catch((e: unknown) => e);
    expect(isCarebaseError(error, 'QUERY_FAILED')).toBe(true);
    expect((error as { sqlState?: string }).sqlState).toBe('42501');
    const { rows } = await f.admin('select count(*)::int as n from audit_log');
    expect(rows[0]?.n).toBeGreaterThanOrEqual(3);
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });

  it('a role granted only what the docs recommend cannot update, delete or truncate either', async () => {
    const role = `carebase_app_${randomBytes(4).toString('hex')}`;
    await f.admin(`create role ${role} login`);
    try {
      await f.admin(`grant usage on schema carebase to ${role}`);
      await f.admin(`grant select, insert on all tables in schema carebase to ${role}`);
      const url = new URL(f.database.url);
      url.username = role;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        for (const text of [
          'update carebase.audit_log set outcome = $$failure$$',
          'delete from carebase.audit_log',
          'truncate carebase.audit_log',
        ]) {
          await expect(client.query(text)).rejects.toMatchObject({ code: '42501' });
        }
        await client.query(
          `insert into carebase.audit_log (action, resource_type) values ('chart.view', 'chart')`,
        );
      } finally {
        await client.end();
      }
    } finally {
      await f.admin(`drop owned by ${role}`);
      await f.admin(`drop role ${role}`);
    }
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });
});
