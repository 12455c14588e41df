import { carebaseMigrations, fileMigrations, migrate, migrationStatus } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder({
    '0001_notes.sql':
      'create table notes (id int primary key, body text not null);\n-- carebase:down\ndrop table notes;\n',
    '0002_seed.sql':
      "insert into notes values (1, 'first');\n-- carebase:down\ndelete from notes where id = 1;\n",
  });
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('migrate with the library and a host folder', () => {
  const app = () => fileMigrations(folder.dir, { namespace: 'app' });

  it('applies both sources, each with its own history, and reports status per source', async () => {
    const before = await migrationStatus(database.url, { sources: [carebaseMigrations, app()] });
    expect(before.map((status) => [status.namespace, status.applied.length])).toEqual([
      ['carebase', 0],
      ['app', 0],
    ]);
    expect(before[1]?.pending).toEqual(['0001_notes', '0002_seed']);

    const { results, plan } = await migrate(database.url, { sources: [carebaseMigrations, app()] });
    expect(results.every((result) => result.status === 'applied' && result.direction === 'up')).toBe(true);
    expect(plan.map((step) => `${step.namespace}/${step.name}`)).toEqual(
      results.map((result) => `${result.namespace}/${result.name}`),
    );
    expect(results.filter((result) => result.namespace === 'app').map((result) => result.name)).toEqual([
      '0001_notes',
      '0002_seed',
    ]);

    const rows = await query<{ namespace: string; name: string }>(
      'select namespace, name from carebase.schema_migrations order by namespace, name',
    );
    expect(rows.filter((row) => row.namespace === 'app').map((row) => row.name)).toEqual([
      '0001_notes',
      '0002_seed',
    ]);
    expect(rows.filter((row) => row.namespace === 'carebase').length).toBeGreaterThan(0);
    // Host migrations run on the connection's own search_path (public), library ones in carebase.
    expect(await query('select body from public.notes')).toEqual([{ body: 'first' }]);
    expect(await query("select to_regprocedure('carebase.set_updated_at()') is not null as ok")).toEqual([
      { ok: true },
    ]);

    const after = await migrationStatus(database.url, { sources: [carebaseMigrations, app()] });
    for (const status of after) {
      expect(status.pending).toEqual([]);
      expect(status.changed).toEqual([]);
      expect(status.missing).toEqual([]);
    }
  });

  it('is a no-op the second time', async () => {
    const again = await migrate(database.url, { sources: [carebaseMigrations, app()] });
    expect(again.results).toEqual([]);
    expect(again.plan).toEqual([]);
  });

  it('accepts a pg.Pool as the target and leaves the pool usable', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => undefined); // see killed-backend.test.ts
    try {
      folder.write('0003_more.sql', "insert into notes values (2, 'second');");
      const { results } = await migrate(pool, { sources: [app()], includeLibrary: false });
      expect(results.map((result) => result.name)).toEqual(['0003_more']);
      expect((await pool.query('select count(*)::int as n from notes')).rows).toEqual([{ n: 2 }]);
    } finally {
      await pool.end();
    }
  });

  it('accepts a Kysely instance as the target', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => undefined); // see killed-backend.test.ts
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    try {
      folder.write('0004_kysely.sql', "insert into notes values (3, 'third');");
      const { results } = await migrate(db, { sources: [app()], includeLibrary: false });
      expect(results.map((result) => result.name)).toEqual(['0004_kysely']);
      const [status] = await migrationStatus(db, { sources: [app()], includeLibrary: false });
      expect(status?.pending).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('keeps the histories of two carebase schemas in one database apart', async () => {
    const { results } = await migrate(database.url, { schema: 'carebase_two' });
    expect(results.length).toBeGreaterThan(0);
    const rows = await query<{ schema: string; n: number }>(
      `select 'carebase' as schema, count(*)::int as n from carebase.schema_migrations where namespace = 'carebase'
       union all
       select 'carebase_two', count(*)::int from carebase_two.schema_migrations`,
    );
    expect(rows).toEqual([
      { schema: 'carebase', n: results.length },
      { schema: 'carebase_two', n: results.length },
    ]);
  });
});
