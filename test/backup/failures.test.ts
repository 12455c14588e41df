import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BackupError } from 'carebase';
import { createBackup } from 'carebase/backup';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump, type PasswordDatabase, passwordDatabase, tempDir } from '../support/backup.js';
import { urlFor } from '../support/database.js';

// Backup I/O and permission failures are BACKUP_FAILED and name the file or the table.
let database: PasswordDatabase;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  database = await passwordDatabase();
  dir = await tempDir();
  await database.query('create table public.notes (id int primary key, body text)');
});

afterAll(async () => {
  await dir?.remove();
  await database?.drop();
});

/** Whether this process may mount a small tmpfs (root on Linux, with the capability). */
function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = join(dir?.path ?? '/tmp', 'probe-mount');
  try {
    mkdirSync(probe, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

describeWithPgDump('backup failures', { timeout: 60_000 }, () => {
  it('a table the role may not read: BACKUP_FAILED naming it, before pg_dump runs, and no file left', async () => {
    const target = join(dir.path, 'denied');
    mkdirSync(target);
    // Made by the superuser, no grant: the database owner's role may not read it.
    const client = new pg.Client({ connectionString: urlFor(database.name) });
    await client.connect();
    try {
      await client.query('create schema vault');
      await client.query('create table vault.secret (x int)');
    } finally {
      await client.end();
    }
    const error = await createBackup({ ...database.options, dir: target, name: 'denied' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BackupError);
    expect((error as BackupError).table).toBe('vault.secret');
    expect((error as BackupError).message).toContain('vault.secret');
    expect(readdirSync(target)).toEqual([]);
    await database.query('select 1'); // the role still works
    const cleanup = new pg.Client({ connectionString: urlFor(database.name) });
    await cleanup.connect();
    await cleanup.query('drop schema vault cascade');
    await cleanup.end();
  });
});

const tmpfs = canMountTmpfs();
describeWithPgDump('backup failures on a full disk', { timeout: 60_000 }, () => {
  it.skipIf(!tmpfs)(
    `ENOSPC while writing the manifest: BACKUP_FAILED naming the file, and no file left${tmpfs ? '' : ' (skipped: mounting a tmpfs needs root)'}`,
    async () => {
      // The archive's size, from a backup on an ordinary disk: the full disk gets exactly its pages.
      const probe = await createBackup({ ...database.options, dir: join(dir.path, 'probe'), name: 'probe' });
      const pages = Math.ceil(statSync(probe.path).size / 4096);
      const mount = join(dir.path, 'full');
      mkdirSync(mount);
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${pages * 4096}`, 'tmpfs', mount]);
      try {
        const error = await createBackup({ ...database.options, dir: mount, name: 'full' }).catch(
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(BackupError);
        const { file, message } = error as BackupError;
        expect(file).toBe(join(mount, 'full.dump.manifest.json.partial'));
        expect(message).toContain(file);
        expect(message).toContain('ENOSPC');
        expect(readdirSync(mount)).toEqual([]);
      } finally {
        execFileSync('umount', [mount]);
      }
    },
  );
});
