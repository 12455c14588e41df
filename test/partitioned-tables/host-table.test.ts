import { type Carebase, createCarebase, isCarebaseError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs the host table helper as the least-privilege app role; the owner (ownerUrl) creates the
// host's tables and registers them, as a host migration would.
let database: TestDatabase;
let app: Carebase;
let owner: Carebase;

/** The first instant (UTC) of the month `offset` months from the current one. */
function month(offset: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
}
const suffix = (d: Date) => `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'app' });
  app = database.db;
  owner = createCarebase({ connectionString: database.ownerUrl });
  const appRole = new URL(database.url).username;
  await sql`create schema hedis`.execute(owner.db);
  await sql`create table hedis.api_logs (
    id bigint generated always as identity,
    created_at timestamptz not null,
    path text not null,
    status integer not null,
    latency_ms integer not null,
    primary key (created_at, id)
  ) partition by range (created_at)`.execute(owner.db);
  await sql`create table hedis.daily_counts (day date not null, n integer not null) partition by range (day)`.execute(
    owner.db,
  );
  await sql`create table hedis.plain (created_at timestamptz not null)`.execute(owner.db);
  await sql`grant usage on schema hedis to ${sql.id(appRole)}`.execute(owner.db);
  await sql`grant select, insert on hedis.api_logs, hedis.daily_counts to ${sql.id(appRole)}`.execute(
    owner.db,
  );
}, 120_000); // a fresh database, an app role and DDL: slow on a loaded machine

afterAll(async () => {
  await owner?.close();
  await database?.drop();
});

const apiLogs = () =>
  app.partitionedTable({
    schema: 'hedis',
    table: 'api_logs',
    column: 'created_at',
    interval: 'month',
    retentionMonths: 84,
    ahead: 2,
  });

describe('partitioned host tables', () => {
  it('refuses bad options before any SQL', () => {
    for (const [options, field] of [
      [{ table: 'api logs', column: 'created_at', interval: 'month' }, 'table'],
      [{ table: 'x'.repeat(56), column: 'created_at', interval: 'month' }, 'table'],
      [{ table: 'api_logs', column: 'created_at', interval: 'week' }, 'interval'],
      [{ table: 'api_logs', column: 'created_at', interval: 'month', retentionMonths: 0 }, 'retentionMonths'],
    ] as const) {
      let error: unknown;
      try {
        app.partitionedTable(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
    }
  });

  it('lets only the owner register, and only range-partitioned tables on the named column', async () => {
    await expect(apiLogs().register()).rejects.toSatisfy((e) => isCarebaseError(e));
    await expect(apiLogs().ensurePartitions()).rejects.toSatisfy((e) => isCarebaseError(e, 'NOT_FOUND')); // not registered yet
    await expect(apiLogs().applyRetention()).rejects.toSatisfy((e) => isCarebaseError(e, 'NOT_FOUND'));
    const asOwner = (table: string, column: string) =>
      owner
        .partitionedTable({ schema: 'hedis', table, column, interval: 'month', retentionMonths: 84 })
        .register();
    await expect(asOwner('plain', 'created_at')).rejects.toSatisfy((e) => isCarebaseError(e));
    await expect(asOwner('api_logs', 'path')).rejects.toSatisfy((e) => isCarebaseError(e));
    await expect(asOwner('missing', 'created_at')).rejects.toSatisfy((e) => isCarebaseError(e, 'NOT_FOUND'));
    await asOwner('api_logs', 'created_at');
    await asOwner('api_logs', 'created_at'); // idempotent
    await owner
      .partitionedTable({
        schema: 'hedis',
        table: 'daily_counts',
        column: 'day',
        interval: 'month',
        retentionMonths: 1,
      })
      .register();
  });

  it('creates monthly partitions as the app role, so inserts into new months work', async () => {
    const insert = (at: Date) =>
      sql`insert into hedis.api_logs (created_at, path, status, latency_ms) values (${at}, '/measures', 200, 12)`.execute(
        app.db,
      );
    const next = month(1);
    const { created } = await apiLogs().ensurePartitions();
    expect(created).toBe(3); // this month and two ahead
    await insert(new Date(next.getTime() + 5_000));
    // A backfill month: refused without a partition, accepted after ensurePartitions({ from }).
    const old = month(-100);
    await expect(insert(old)).rejects.toSatisfy((e) => isCarebaseError(e));
    expect((await apiLogs().ensurePartitions({ from: old, ahead: 0 })).created).toBe(1);
    await insert(old);
    // Cached months cost no query; already present months create nothing.
    expect((await apiLogs().ensurePartitions()).created).toBe(0);
    // UTC month boundaries whatever the session time zone.
    const { rows } = await sql<{ bound: string }>`
      select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c
      where c.oid = ${`hedis.api_logs_p${suffix(next)}`}::regclass`.execute(owner.db);
    await sql`set timezone = 'UTC'`.execute(owner.db);
    const expected = `FOR VALUES FROM ('${next.toISOString().slice(0, 10)} 00:00:00+00') TO ('${month(2).toISOString().slice(0, 10)} 00:00:00+00')`;
    const utc = await sql<{ bound: string }>`
      select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c
      where c.oid = ${`hedis.api_logs_p${suffix(next)}`}::regclass`.execute(owner.db);
    expect(rows[0]?.bound).toBeDefined();
    expect(utc.rows[0]?.bound).toBe(expected);
  });

  it('partitions date columns by calendar month', async () => {
    const daily = app.partitionedTable({
      schema: 'hedis',
      table: 'daily_counts',
      column: 'day',
      interval: 'month',
    });
    await daily.ensurePartitions({ from: month(0), ahead: 0 });
    const last = new Date(month(1).getTime() - 86_400_000).toISOString().slice(0, 10);
    await sql`insert into hedis.daily_counts values (${last}::date, 1)`.execute(app.db);
    const { rows } = await sql<{
      part: string;
    }>`select tableoid::regclass::text as part from hedis.daily_counts`.execute(owner.db);
    expect(rows[0]?.part).toBe(`hedis.daily_counts_p${suffix(month(0))}`);
  });

  it('applies the registered retention as the app role, and audits it', async () => {
    // retentionMonths 84: partitions of months that ended by the first day of the month 84 before
    // this one go; that month and later stay.
    for (const offset of [-87, -86, -85, -84]) {
      await apiLogs().ensurePartitions({ from: month(offset), ahead: 0 });
    }
    const { droppedPartitions } = await apiLogs().applyRetention();
    expect([...droppedPartitions].sort()).toEqual(
      [-100, -87, -86, -85].map((offset) => `api_logs_p${suffix(month(offset))}`).sort(),
    );
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'hedis.api_logs'::regclass order by 1`.execute(owner.db);
    expect(rows.map((row) => row.name)).toEqual(
      [-84, 0, 1, 2].map((offset) => `api_logs_p${suffix(month(offset))}`),
    );
    expect((await apiLogs().applyRetention()).droppedPartitions).toEqual([]); // idempotent
    const audit = await app.audit.query({ action: 'partitioned_table.retention' });
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]?.resourceId).toBe('hedis.api_logs');
  });

  it("cannot reach unregistered tables: carebase's audit log stays out of the app's hands", async () => {
    await app.audit.log({ action: 'test.entry', resourceType: 'test' });
    const fn = (name: string) => sql.id('carebase', name);
    await expect(
      sql`select * from ${fn('partitioned_table_apply_retention')}('carebase', 'audit_log')`.execute(app.db),
    ).rejects.toSatisfy((e) => isCarebaseError(e));
    await expect(
      sql`select ${fn('partitioned_table_ensure')}('carebase', 'audit_log', now(), 0)`.execute(app.db),
    ).rejects.toSatisfy((e) => isCarebaseError(e));
    // Registering is the owner's: the app cannot register the audit log, nor write the registry.
    await expect(
      sql`select ${fn('partitioned_table_register')}('carebase', 'audit_log', 'occurred_at', 1, 0)`.execute(
        app.db,
      ),
    ).rejects.toSatisfy((e) => isCarebaseError(e));
    await expect(
      sql`insert into ${fn('partitioned_tables')} (table_schema, table_name, column_name, retention_months, months_ahead)
          values ('carebase', 'audit_log', 'occurred_at', 1, 0)`.execute(app.db),
    ).rejects.toSatisfy((e) => isCarebaseError(e));
    expect((await app.audit.query({ action: 'test.entry' })).items).toHaveLength(1);
  });
});
