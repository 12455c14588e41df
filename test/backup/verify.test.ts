import { copyFile, open, readFile, writeFile } from 'node:fs/promises';
import { isCarebaseError } from 'carebase';
import { type BackupResult, createBackup, listBackups, restoreBackup, verifyBackup } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump, pgDumpMissing, tempDir } from '../support/backup.js';
import { adminQuery } from '../support/database.js';

let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };
let backup: BackupResult;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = await tempDir();
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: database.url });
  await client.connect();
  await client.query(
    'create table notes (id int primary key, body text); insert into notes select i, repeat(md5(i::text), 4) from generate_series(1, 20000) i',
  );
  await client.end();
  if (pgDumpMissing !== undefined) return;
  backup = await createBackup({ connectionString: database.url, dir: dir.path, name: 'original' });
});

afterAll(async () => {
  await database?.drop();
  await dir?.remove();
});

async function copyBackup(name: string): Promise<string> {
  const path = `${dir.path}/${name}.dump`;
  await copyFile(backup.path, path);
  const manifest = JSON.parse(await readFile(backup.manifestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(`${path}.manifest.json`, JSON.stringify({ ...manifest, archive: `${name}.dump` }));
  return path;
}

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const buffer = Buffer.alloc(1);
    await handle.read(buffer, 0, 1, offset);
    buffer[0] = (buffer[0] ?? 0) ^ 0x01;
    await handle.write(buffer, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

async function restoredDatabases(): Promise<string[]> {
  const rows = await adminQuery<{ datname: string }>(
    "select datname from pg_database where datname like $1 or datname like 'carebase_verify_%'",
    [`${database.name}_restored_%`],
  );
  return rows.map((row) => row.datname);
}

describeWithPgDump('verifyBackup', { timeout: 180_000 }, () => {
  it('passes an intact archive, with a trial restore', async () => {
    const result = await verifyBackup(backup.path, { connectionString: database.url, trialRestore: true });
    expect(result.ok).toBe(true);
    expect(result.checks).toEqual({ manifest: 'ok', checksum: 'ok', archive: 'ok', trialRestore: 'ok' });
    expect(await restoredDatabases()).toEqual([]);
  });

  it('catches a single flipped byte in the middle of the archive', async () => {
    const path = await copyBackup('flipped');
    const { size } = await (await open(path)).stat();
    await flipByte(path, Math.floor(size / 2));
    const result = await verifyBackup(path);
    expect(result.ok).toBe(false);
    expect(result.checks.checksum).toBe('mismatch');
    expect(result.problems.join(' ')).toContain('checksum mismatch');
  });

  it('refuses to restore a corrupted archive and creates no database', async () => {
    const path = await copyBackup('flipped-restore');
    await flipByte(path, 100);
    const error = await restoreBackup(path, { connectionString: database.url }).catch((e: unknown) => e);
    expect(isCarebaseError(error, 'BACKUP_FAILED')).toBe(true);
    expect((error as Error).message).toContain('failed verification');
    expect(await restoredDatabases()).toEqual([]);
  });

  it('without a manifest, still lets pg_restore --list catch a damaged header', async () => {
    const path = `${dir.path}/no-manifest.dump`;
    await copyFile(backup.path, path);
    await flipByte(path, 0);
    const result = await verifyBackup(path);
    expect(result.ok).toBe(false);
    expect(result.checks.manifest).toBe('missing');
    expect(result.checks.archive).toBe('unreadable');
    const { items } = await listBackups({ dir: dir.path });
    expect(items.find((item) => item.name === 'no-manifest.dump')).toMatchObject({
      status: 'no-manifest',
      verified: false,
    });
  });

  it('reports row counts that differ from the manifest after a trial restore', async () => {
    const path = await copyBackup('wrong-counts');
    const manifestPath = `${path}.manifest.json`;
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { tables: Record<string, number> };
    manifest.tables['public.notes'] = 19_999;
    await writeFile(manifestPath, JSON.stringify(manifest));
    const result = await verifyBackup(path, { connectionString: database.url, trialRestore: true });
    expect(result.ok).toBe(false);
    expect(result.checks.trialRestore).toBe('mismatch');
    expect(result.rowCountMismatches).toEqual([{ table: 'public.notes', expected: 19_999, actual: 20_000 }]);
    expect(await restoredDatabases()).toEqual([]);
  });

  it('with checkRowCounts, a restore whose counts differ from the manifest fails and leaves no database', async () => {
    const path = await copyBackup('wrong-counts-restore');
    const manifestPath = `${path}.manifest.json`;
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { tables: Record<string, number> };
    manifest.tables['public.notes'] = 1;
    await writeFile(manifestPath, JSON.stringify(manifest));
    const error = await restoreBackup(path, { connectionString: database.url, checkRowCounts: true }).catch(
      (e: unknown) => e,
    );
    expect(isCarebaseError(error, 'BACKUP_FAILED')).toBe(true);
    expect((error as Error).message).toContain('public.notes');
    expect(await restoredDatabases()).toEqual([]);
  });

  it('rejects bad options before doing anything', async () => {
    const error = await verifyBackup(backup.path, { trialRestore: 'yes' } as never).catch((e: unknown) => e);
    expect(isCarebaseError(error, 'VALIDATION_FAILED')).toBe(true);
  });
});
