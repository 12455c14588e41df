import { MigrationError } from 'carebase';
import { fileMigrations, migrate, migrationStatus } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder({
    '0001_ok.sql': 'create table fine (id int primary key);',
    // Creates a table, inserts, then fails on a duplicate key: all of it must vanish.
    '0002_fails.sql':
      'create table half (id int primary key);\ninsert into fine values (1);\ninsert into half values (1), (1);\n',
    '0003_never.sql': 'create table never (id int);',
  });
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

describe('a failing migration', () => {
  it('leaves the database as before it, records nothing, and throws with per-migration results', async () => {
    const error = await migrate(database.url, {
      sources: [fileMigrations(folder.dir, { namespace: 'app' })],
      includeLibrary: false,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    const failed = error as MigrationError;
    expect(failed.code).toBe('MIGRATION_FAILED');
    expect(failed.migration).toBe('0002_fails');
    expect(failed.results).toMatchObject([
      { namespace: 'app', name: '0001_ok', status: 'applied' },
      { namespace: 'app', name: '0002_fails', status: 'failed', error: { code: 'CONFLICT' } },
    ]);
    // The constraint violation's detail (the duplicated value) is not in the message.
    expect(failed.message).not.toContain('(1)');

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const tables = await client.query(
        "select to_regclass('fine') is not null as fine, to_regclass('half') is not null as half, to_regclass('never') is not null as never",
      );
      expect(tables.rows).toEqual([{ fine: true, half: false, never: false }]);
      expect((await client.query('select count(*)::int as n from fine')).rows).toEqual([{ n: 0 }]);
      const recorded = await client.query(
        "select name from carebase.schema_migrations where namespace = 'app'",
      );
      expect(recorded.rows).toEqual([{ name: '0001_ok' }]);
    } finally {
      await client.end();
    }
    const [status] = await migrationStatus(database.url, {
      sources: [fileMigrations(folder.dir, { namespace: 'app' })],
      includeLibrary: false,
    });
    expect(status?.pending).toEqual(['0002_fails', '0003_never']);
  });

  it('applies once fixed', async () => {
    folder.write('0002_fails.sql', 'create table half (id int primary key);\ninsert into half values (1);\n');
    const { results } = await migrate(database.url, {
      sources: [fileMigrations(folder.dir, { namespace: 'app' })],
      includeLibrary: false,
    });
    expect(results.map((result) => result.name)).toEqual(['0002_fails', '0003_never']);
  });
});
