import { randomBytes } from 'node:crypto';
import { createCarebase, isCarebaseError } from 'carebase';
import { APP_ROLE_TABLE_PRIVILEGES, grantAppRole } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The least-privilege split as production runs it: `database.url` logs in as a role made by
// grantAppRole() (unique to this database, dropped with it), `database.ownerUrl` as the owner.
let database: TestDatabase;
const YEAR = 365 * 86_400_000;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'app' });
  const cb = database.db;
  const user = await cb.users.create({
    username: 'ana',
    email: 'ana@example.org',
    password: 'correct horse battery',
    role: 'nurse',
  });
  await cb.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: '1', userId: user.id });
  await cb.audit.seal();
});

afterAll(async () => {
  await database?.drop();
});

/** Runs `text` on a fresh connection as the app role; resolves to the error (or undefined). */
async function asApp(text: string): Promise<(Error & { code?: string; routine?: string }) | undefined> {
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('set search_path to carebase');
    await client.query(text);
    return undefined;
  } catch (error) {
    return error as Error & { code?: string; routine?: string };
  } finally {
    await client.end();
  }
}

/** Refused by the privilege system itself (not by a trigger that a grant would bypass). */
function expectPrivilegeDenied(error: (Error & { code?: string; routine?: string }) | undefined): void {
  expect(error?.code).toBe('42501');
  expect(error?.routine).toBe('aclcheck_error');
}

describe('the app role', () => {
  it('cannot UPDATE, DELETE or TRUNCATE audit rows, nor write the chain, its head or the seal state', async () => {
    expectPrivilegeDenied(await asApp("update audit_log set action = 'x.y'"));
    expectPrivilegeDenied(await asApp('delete from audit_log'));
    expectPrivilegeDenied(await asApp('truncate audit_log'));
    const updates: Record<string, string> = {
      audit_chain: 'row_hash = row_hash',
      audit_chain_head: 'last_seq = 0',
      audit_seal_state: 'watermark = 0',
    };
    for (const [table, set] of Object.entries(updates)) {
      expectPrivilegeDenied(await asApp(`update ${table} set ${set}`));
      expectPrivilegeDenied(await asApp(`delete from ${table}`));
      expectPrivilegeDenied(await asApp(`truncate ${table}`));
    }
    expectPrivilegeDenied(
      await asApp(
        "insert into audit_chain_head (month, last_seq, last_id, head_hash) values (now(), 1, 1, '\\x00')",
      ),
    );
    // Partitions directly: no grants at all.
    const month = new Date().toISOString().slice(0, 7).replace('-', '');
    expectPrivilegeDenied(await asApp(`delete from audit_log_p${month}`));
    expect((await database.db.audit.verify()).ok).toBe(true);
  });

  it('cannot disable triggers, create or drop tables, or run owner-only functions', async () => {
    expect((await asApp('alter table audit_log disable trigger user'))?.code).toBe('42501');
    expect((await asApp('set session_replication_role = replica'))?.code).toBe('42501');
    expect((await asApp('create table carebase.sneaky (id int)'))?.code).toBe('42501');
    const month = new Date().toISOString().slice(0, 7).replace('-', '');
    expect((await asApp(`drop table audit_log_p${month}`))?.code).toBe('42501');
    expectPrivilegeDenied(await asApp("select audit_drop_partitions_before(now() + interval '100 years')"));
    expectPrivilegeDenied(await asApp("select ensure_monthly_partitions('users', now(), 1)"));
    // The definer functions refuse what no runtime call needs.
    expect((await asApp('select audit_ensure_partitions(now(), 10000)'))?.code).toBe('22023');
    expect((await asApp("select analytics_ensure_partitions('infinity', 0)"))?.code).toBe('22023');
    expect((await database.db.audit.verify()).ok).toBe(true);
  });

  it('cannot shadow a carebase table with a temporary one inside the owner functions', async () => {
    const client = new pg.Client({ connectionString: database.url });
    client.on('error', () => {});
    await client.connect();
    try {
      // pg_temp is searched last in every carebase function: these are never read by them.
      await client.query(
        'create temporary table audit_seal_state (singleton boolean, watermark bigint, open_txids bigint[])',
      );
      await client.query(
        'create temporary table audit_chain_head (month timestamptz, last_seq bigint, last_id bigint, head_hash bytea, retired_at timestamptz)',
      );
      await client.query("insert into pg_temp.audit_seal_state values (true, 9223372036854775807, '{}')");
      await client.query(
        "insert into carebase.audit_log (action, resource_type) values ('chart.view', 'chart')",
      );
      const { rows } = await client.query<{ sealed: number }>('select carebase.audit_seal() as sealed');
      expect(rows[0]?.sealed).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    expect(await database.db.audit.verify()).toMatchObject({ ok: true });
  });

  it('runs for years without DDL: a clock 3 years ahead still creates partitions, logs in and audits', async () => {
    const later = Date.now() + 3 * YEAR;
    await using cb = createCarebase({
      connectionString: database.url,
      clock: { now: () => new Date(later) },
      users: { bcryptCost: 10 },
      pool: { max: 1 }, // partitions are created on the caller's own connection
    });
    const login = await cb.users.authenticate({ login: 'ana', password: 'correct horse battery' });
    expect(login.ok).toBe(true);
    const user = await cb.transaction(async (tx) =>
      tx.users.create({
        username: 'bea',
        email: 'bea@example.org',
        password: 'correct horse battery',
        role: 'nurse',
      }),
    );
    await cb.audit.log({ action: 'chart.view', resourceType: 'chart', userId: user.id });
    await cb.analytics.track({ userId: user.id, eventType: 'feature', eventName: 'chat.open' });
    const owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    const { rows } = await owner
      .query<{ name: string; owner: string }>(
        `select c.relname as name, pg_get_userbyid(c.relowner) as owner from pg_class c
          where c.relname = any($1::text[])`,
        [
          ['audit_log_p', 'audit_chain_p', 'analytics_events_p'].map(
            (prefix) => `${prefix}${new Date(later).toISOString().slice(0, 7).replace('-', '')}`,
          ),
        ],
      )
      .finally(() => owner.end());
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.owner).not.toBe(decodeURIComponent(new URL(database.url).username));
    expect(await cb.audit.verify()).toMatchObject({ ok: true });
    const entries = await cb.audit.query({ action: 'user.login', from: new Date(later - 60_000) });
    expect(entries.items.length).toBeGreaterThan(0);
  });
});

describe('grantAppRole', () => {
  it('grants exactly the listed privileges, removing any granted by hand on a rerun', async () => {
    const role = decodeURIComponent(new URL(database.url).username);
    const owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    try {
      await owner.query(
        `grant update, delete, truncate on carebase.audit_chain_head, carebase.audit_log to "${role}"`,
      );
      expect(await asApp('update audit_chain_head set last_seq = last_seq')).toBeUndefined();
      expect(await grantAppRole(database.ownerUrl, { role })).toEqual({ role, created: false });
      const { rows } = await owner.query<{ table_name: string; privilege_type: string }>(
        `select table_name, privilege_type from information_schema.role_table_grants
          where grantee = $1 and table_schema = 'carebase' order by 1, 2`,
        [role],
      );
      const expected = Object.entries(APP_ROLE_TABLE_PRIVILEGES)
        .flatMap(([table, privileges]) => privileges.map((privilege) => `${table} ${privilege}`))
        .sort();
      expect(rows.map((row) => `${row.table_name} ${row.privilege_type}`).sort()).toEqual(expected);
      expectPrivilegeDenied(await asApp('update audit_chain_head set last_seq = last_seq'));
      const { rows: schema } = await owner.query<{ create: boolean }>(
        "select has_schema_privilege($1, 'carebase', 'CREATE') as create",
        [role],
      );
      expect(schema[0]?.create).toBe(false);
    } finally {
      await owner.end();
    }
  });

  it('refuses to run as a role that does not own the schema, and refuses an unsuitable role', async () => {
    const asApp = await grantAppRole(database.url, { role: 'whoever' }).catch((error: unknown) => error);
    expect(isCarebaseError(asApp, 'INVALID_CONFIGURATION')).toBe(true);
    const risky = `carebase_test_${randomBytes(6).toString('hex')}_x`;
    const owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    try {
      await owner.query(`create role "${risky}" bypassrls`);
      const refused = await grantAppRole(database.ownerUrl, { role: risky }).catch((error: unknown) => error);
      expect(isCarebaseError(refused, 'INVALID_CONFIGURATION')).toBe(true);
      const missing = await grantAppRole(database.ownerUrl, {
        role: `${risky}_none`,
        createRole: false,
      }).catch((error: unknown) => error);
      expect(isCarebaseError(missing, 'INVALID_CONFIGURATION')).toBe(true);
      const bad = await grantAppRole(database.ownerUrl, { role: 'Robert"; drop table x; --' }).catch(
        (error: unknown) => error,
      );
      expect(isCarebaseError(bad, 'VALIDATION_FAILED')).toBe(true);
    } finally {
      await owner.query(`drop role if exists "${risky}"`);
      await owner.end();
    }
  });
});
