import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { isCarebaseError } from 'carebase';
import { createBackup, listBackups } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump, tempDir } from '../support/backup.js';

const run = promisify(execFile);
let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = await tempDir();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  // Enough data that pg_dump at maximum compression runs for a few seconds.
  await client.query(
    `create table big (id int primary key, payload text);
     insert into big select i, md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text) from generate_series(1, 600000) i`,
  );
  await client.end();
});

afterAll(async () => {
  await database?.drop();
  await dir?.remove();
});

async function pgDumpsWriting(into: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'args', '--no-headers']);
  return stdout.split('\n').filter((line) => line.includes('pg_dump') && line.includes(into));
}

describeWithPgDump('cancelling a backup', { timeout: 180_000 }, () => {
  it('kills pg_dump and leaves no file that listBackups reports as good', async () => {
    const controller = new AbortController();
    let sawBytes = false;
    const error = await createBackup({
      connectionString: database.url,
      dir: dir.path,
      compression: 9,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.bytesWritten > 0 && !sawBytes) {
          sawBytes = true;
          controller.abort();
        }
      },
    }).catch((e: unknown) => e);
    expect(sawBytes).toBe(true);
    expect(isCarebaseError(error, 'ABORTED')).toBe(true);
    expect(await readdir(dir.path)).toEqual([]);
    expect((await listBackups({ dir: dir.path })).items).toEqual([]);
    expect(await pgDumpsWriting(dir.path)).toEqual([]);
  });

  it('does nothing for an already aborted signal', async () => {
    const error = await createBackup({
      connectionString: database.url,
      dir: dir.path,
      signal: AbortSignal.abort(),
    }).catch((e: unknown) => e);
    expect(isCarebaseError(error, 'ABORTED')).toBe(true);
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('a pg_dump killed from outside fails the backup and leaves nothing behind', async () => {
    let killed = false;
    const error = await createBackup({
      connectionString: database.url,
      dir: dir.path,
      compression: 9,
      onProgress: (progress) => {
        if (progress.bytesWritten > 0 && !killed) {
          killed = true;
          // Kill, by pid, the pg_dump this backup started (found by its output path).
          void run('ps', ['-eo', 'pid,args', '--no-headers']).then(({ stdout }) => {
            for (const line of stdout.split('\n')) {
              if (line.includes('pg_dump') && line.includes(`--file=${dir.path}/`)) {
                process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
              }
            }
          });
        }
      },
    }).catch((e: unknown) => e);
    expect(killed).toBe(true);
    expect(isCarebaseError(error, 'BACKUP_FAILED')).toBe(true);
    expect((error as Error).message).toContain('pg_dump was killed by SIGKILL');
    expect(await readdir(dir.path)).toEqual([]);
    expect((await listBackups({ dir: dir.path })).items).toEqual([]);
  });
});
