import { open, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCarebaseError } from 'carebase';
import { type BackupResult, createBackup, listBackups, pruneBackups } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithPgDump, tempDir } from '../support/backup.js';

const DAY = 86_400_000;
let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('create table t (id int); insert into t select generate_series(1, 100)');
  await client.end();
});

beforeEach(async () => {
  await dir?.remove();
  dir = await tempDir();
});

afterAll(async () => {
  await database?.drop();
  await dir?.remove();
});

/** A real backup whose manifest says it was taken `daysAgo` days ago. */
async function backupAged(name: string, daysAgo: number): Promise<BackupResult> {
  const backup = await createBackup({ connectionString: database.url, dir: dir.path, name });
  const manifest = JSON.parse(await readFile(backup.manifestPath, 'utf8')) as { createdAt: string };
  manifest.createdAt = new Date(Date.now() - daysAgo * DAY).toISOString();
  await writeFile(backup.manifestPath, JSON.stringify(manifest));
  return backup;
}

async function corrupt(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  await handle.write(Buffer.from([0xff, 0xee]), 0, 2, 200);
  await handle.close();
}

describeWithPgDump('pruneBackups', { timeout: 180_000 }, () => {
  it('keeps the newest verified backup even when every backup is older than maxAgeDays', async () => {
    await backupAged('a', 60);
    await backupAged('b', 50);
    const newest = await backupAged('c', 40);
    const result = await pruneBackups({ dir: dir.path, keepLast: 0, maxAgeDays: 30 });
    expect(result.newestVerified).toBe('c.dump');
    expect(result.deleted.map((entry) => entry.name).sort()).toEqual(['a.dump', 'b.dump']);
    expect((await readdir(dir.path)).sort()).toEqual([
      newest.manifest.archive,
      `${newest.manifest.archive}.manifest.json`,
    ]);
  });

  it('does not count a corrupted newer archive as the one to keep', async () => {
    await backupAged('a', 60);
    await backupAged('b', 50);
    const broken = await backupAged('c', 40);
    await corrupt(broken.path);
    const result = await pruneBackups({ dir: dir.path, keepLast: 0, maxAgeDays: 30 });
    expect(result.newestVerified).toBe('b.dump');
    expect(result.kept.map((entry) => entry.name)).toEqual(['b.dump']);
    expect(result.deleted.map((entry) => entry.name).sort()).toEqual(['a.dump', 'c.dump']);
  });

  it('keeps the last N and everything younger than maxAgeDays; removes manifests with archives', async () => {
    for (const [name, age] of [
      ['d1', 1],
      ['d5', 5],
      ['d40', 40],
      ['d41', 41],
      ['d42', 42],
    ] as const) {
      await backupAged(name, age);
    }
    const dry = await pruneBackups({ dir: dir.path, keepLast: 3, maxAgeDays: 30, dryRun: true });
    expect(dry.deleted.map((entry) => entry.name)).toEqual(['d41.dump', 'd42.dump']);
    expect((await readdir(dir.path)).length).toBe(10);

    const result = await pruneBackups({ dir: dir.path, keepLast: 3, maxAgeDays: 30 });
    expect(result.deleted.map((entry) => entry.name)).toEqual(['d41.dump', 'd42.dump']);
    expect(result.kept.map((entry) => entry.name)).toEqual(['d1.dump', 'd5.dump', 'd40.dump']);
    const left = await readdir(dir.path);
    expect(left.some((name) => name.startsWith('d41') || name.startsWith('d42'))).toBe(false);
    expect(left.length).toBe(6);
  });

  it('removes orphaned manifests and stale partial files, and ignores fresh partial files', async () => {
    await backupAged('keep', 1);
    await writeFile(join(dir.path, 'gone.dump.manifest.json'), '{}');
    await writeFile(join(dir.path, 'old.dump.partial'), 'x');
    const twoDaysAgo = new Date(Date.now() - 2 * DAY);
    await utimes(join(dir.path, 'old.dump.partial'), twoDaysAgo, twoDaysAgo);
    await writeFile(join(dir.path, 'running.dump.partial'), 'x');
    const result = await pruneBackups({ dir: dir.path });
    expect(result.removedFiles.map((path) => path.split('/').pop()).sort()).toEqual([
      'gone.dump.manifest.json',
      'old.dump.partial',
    ]);
    expect((await readdir(dir.path)).sort()).toEqual([
      'keep.dump',
      'keep.dump.manifest.json',
      'running.dump.partial',
    ]);
    expect((await listBackups({ dir: dir.path })).items.map((item) => item.name)).toEqual(['keep.dump']);
  });

  it('rejects a negative keepLast', async () => {
    const error = await pruneBackups({ dir: dir.path, keepLast: -1 }).catch((e: unknown) => e);
    expect(isCarebaseError(error, 'VALIDATION_FAILED')).toBe(true);
  });
});
