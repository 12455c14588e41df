import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupError, isCarebaseError } from 'carebase';
import { createBackup, findPgTools } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgDumpMissing, tempDir } from '../support/backup.js';
import { adminQuery } from '../support/database.js';

let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };
let serverMajor: number;
const savedBinDir = process.env.PG_BIN_DIR;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = await tempDir();
  const [row] = await adminQuery<{ num: string }>("select current_setting('server_version_num') as num");
  serverMajor = Math.floor(Number(row?.num) / 10_000);
});

afterEach(() => {
  if (savedBinDir === undefined) delete process.env.PG_BIN_DIR;
  else process.env.PG_BIN_DIR = savedBinDir;
});

afterAll(async () => {
  await database?.drop();
  await dir?.remove();
});

/** A directory whose pg_dump and pg_restore only answer `--version` with an old version. */
async function fakeOldTools(version: string): Promise<string> {
  const bin = join(dir.path, `fake-${version}`);
  await mkdir(bin, { recursive: true });
  for (const tool of ['pg_dump', 'pg_restore']) {
    const path = join(bin, tool);
    await writeFile(path, `#!/bin/sh\necho "${tool} (PostgreSQL) ${version}"\n`);
    await chmod(path, 0o755);
  }
  return bin;
}

describe('finding pg_dump and pg_restore', { timeout: 180_000 }, () => {
  it.skipIf(pgDumpMissing !== undefined)('finds real tools at least as new as the server', async () => {
    delete process.env.PG_BIN_DIR;
    const tools = await findPgTools({ minMajor: serverMajor });
    expect(tools.major).toBeGreaterThanOrEqual(serverMajor);
    expect(tools.pgDump.endsWith('pg_dump')).toBe(true);
    expect(tools.pgRestore.endsWith('pg_restore')).toBe(true);
  });

  it('fails early, saying what was found, what is needed and how to install it, when PG_BIN_DIR holds an old pg_dump', async () => {
    process.env.PG_BIN_DIR = await fakeOldTools('11.22');
    const out = join(dir.path, 'out-old');
    const error = await createBackup({ connectionString: database.url, dir: out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect(isCarebaseError(error, 'BACKUP_FAILED')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('pg_dump 11.22');
    expect(message).toContain(`${serverMajor} or newer`);
    expect(message).toContain(`postgresql-client-${serverMajor}`);
    expect(message).toContain('brew install libpq');
    // Nothing was written.
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('reports a directory without pg_dump', async () => {
    const empty = join(dir.path, 'empty-bin');
    await mkdir(empty, { recursive: true });
    const error = await findPgTools({ minMajor: serverMajor, binDir: empty }).catch((e: unknown) => e);
    expect(isCarebaseError(error, 'BACKUP_FAILED')).toBe(true);
    expect((error as Error).message).toContain('no pg_dump was found');
  });

  it.skipIf(pgDumpMissing !== undefined)('uses PG_BIN_DIR when it holds suitable tools', async () => {
    const real = await findPgTools({ minMajor: serverMajor });
    process.env.PG_BIN_DIR = real.dir;
    const tools = await findPgTools({ minMajor: serverMajor });
    expect(tools.dir).toBe(real.dir);
  });
});
