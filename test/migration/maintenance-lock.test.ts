import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupError, MigrationError } from 'carebase';
import { createBackup } from 'carebase/backup';
import { fileMigrations, migrate } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump } from '../support/backup.js';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

// Backups and migrations of one database never overlap: both take the maintenance advisory lock
// (backups shared, migrations exclusive), and the one that finds the other running says so.

let database: TestDatabase;
let folder: MigrationFolder;
let dir: string;

async function client(applicationName: string): Promise<pg.Client> {
  const connection = new pg.Client({ connectionString: database.url, application_name: applicationName });
  connection.on('error', () => {});
  await connection.connect();
  return connection;
}

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = mkdtempSync(join(tmpdir(), 'carebase-maintenance-'));
  const admin = await client('ml-setup');
  await admin.query('create table public.ml_t (id int); insert into public.ml_t values (1)');
  await admin.end();
  folder = migrationFolder({
    '0001_slow.sql': 'select pg_sleep(1.5);\ncreate table public.ml_a (id int);\n',
  });
});

afterAll(async () => {
  folder?.remove();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

describeWithPgDump('backups and migrations exclude each other', { timeout: 60_000 }, () => {
  it('a backup started while a migration runs fails at once, naming the migration', async () => {
    const running = migrate(database.url, {
      sources: [fileMigrations(folder.dir, { namespace: 'app' })],
      includeLibrary: false,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refused = await createBackup({ connectionString: database.url, dir, name: 'during' }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(BackupError);
    expect((refused as BackupError).message).toMatch(
      /^a migration is running on this database \(pid \d+ \(application_name '[^']*'\)\)/,
    );
    await running;
    const backup = await createBackup({ connectionString: database.url, dir, name: 'after' });
    expect(backup.manifest.tables['public.ml_a']).toBe(0);
  });

  it('a migration started while a backup runs waits, then fails naming the backup', async () => {
    const holder = await client('ml-holder');
    await holder.query('begin');
    await holder.query('lock table public.ml_t in access exclusive mode');
    // The backup takes the maintenance lock, then waits for the table: a backup in progress.
    const backup = createBackup({ connectionString: database.url, dir, name: 'slow' });
    backup.catch(() => {});
    try {
      await new Promise((resolve) => setTimeout(resolve, 800));
      folder.write('0002_more.sql', 'create table public.ml_b (id int);\n');
      const started = performance.now();
      const refused = await migrate(database.url, {
        sources: [fileMigrations(folder.dir, { namespace: 'app' })],
        includeLibrary: false,
        lockTimeoutMs: 500,
      }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(MigrationError);
      expect((refused as MigrationError).message).toMatch(
        /^timed out after 500 ms waiting for a backup of this database to finish \(pid \d+ \(application_name 'carebase-backup'\)\)/,
      );
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    expect((await backup).manifest.tables['public.ml_t']).toBe(1);
    const { results } = await migrate(database.url, {
      sources: [fileMigrations(folder.dir, { namespace: 'app' })],
      includeLibrary: false,
    });
    expect(results.map((result) => result.name)).toEqual(['0002_more']);
  });
});
