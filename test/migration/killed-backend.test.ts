import { MigrationError } from 'carebase';
import { fileMigrations, migrate, migrationStatus } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery } from '../support/database.js';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder({
    '0001_slow.sql': 'create table slow (id int);\nselect pg_sleep(30);',
  });
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

describe('a migrator whose backend is killed mid-migration', () => {
  it('fails with MigrationError, leaves nothing behind, frees the lock, and the pool recovers', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    // A host pool needs its own listener: an idle client the server ends (the database's drop after
    // the test) makes pg-pool emit `error` on the pool, which throws without one.
    pool.on('error', () => undefined);
    const sources = [fileMigrations(folder.dir, { namespace: 'app' })];
    try {
      const running = migrate(pool, { sources, includeLibrary: false }).catch((caught: unknown) => caught);
      // Wait until the migration is sleeping, then terminate that backend.
      for (let i = 0; i < 200; i++) {
        const rows = await adminQuery<{ pid: number }>(
          "select pid from pg_stat_activity where datname = $1 and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()",
          [database.name],
        );
        if (rows[0] !== undefined) {
          await adminQuery('select pg_terminate_backend($1)', [rows[0].pid]);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const error = await running;
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).migration).toBe('0001_slow');
      expect((error as MigrationError).results).toMatchObject([
        { name: '0001_slow', status: 'failed', error: { code: 'CONNECTION_FAILED' } },
      ]);
      const [status] = await migrationStatus(pool, { sources, includeLibrary: false });
      expect(status?.pending).toEqual(['0001_slow']);
      expect((await pool.query("select to_regclass('slow') as t")).rows).toEqual([{ t: null }]);

      // The lock died with the session: the next run gets it at once.
      folder.write('0001_slow.sql', 'create table slow (id int);');
      const { results } = await migrate(pool, { sources, includeLibrary: false, lockTimeoutMs: 0 });
      expect(results.map((result) => result.name)).toEqual(['0001_slow']);
    } finally {
      await pool.end();
    }
  });
});
