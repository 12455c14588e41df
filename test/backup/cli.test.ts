import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupCommand, parseBackupArgs, UsageError } from '../../src/cli/commands/backup.js';
import { describeWithPgDump, tempDir } from '../support/backup.js';
import { adminQuery } from '../support/database.js';

let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = await tempDir();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(
    'create table t (id int primary key, v text); insert into t select i, md5(i::text) from generate_series(1, 5000) i',
  );
  await client.end();
});

afterAll(async () => {
  const rows = await adminQuery<{ datname: string }>(
    'select datname from pg_database where datname like $1',
    [`${database.name}_restored_%`],
  );
  for (const row of rows) await adminQuery(`drop database if exists "${row.datname}" with (force)`);
  await database?.drop();
  await dir?.remove();
});

function io(isTTY: boolean): { stdout: string[]; stderr: string[]; io: Parameters<typeof backupCommand>[1] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    io: {
      stdout: { write: (chunk: string) => stdout.push(chunk) },
      stderr: { write: (chunk: string) => stderr.push(chunk) },
      isTTY,
      env: { DATABASE_URL: database.url, BACKUP_DIR: dir.path },
    },
  };
}

describe('parseBackupArgs', { timeout: 180_000 }, () => {
  it('parses each subcommand and its options', () => {
    expect(
      parseBackupArgs(['restore', 'a.dump', '--mode', 'replace', '--terminate-connections', '--json']),
    ).toMatchObject({
      subcommand: 'restore',
      path: 'a.dump',
      mode: 'replace',
      terminateConnections: true,
      json: true,
    });
    expect(
      parseBackupArgs(['prune', '--keep-last', '0', '--max-age-days', '7.5', '--dry-run']),
    ).toMatchObject({
      keepLast: 0,
      maxAgeDays: 7.5,
      dryRun: true,
    });
  });

  it.each([
    [[]],
    [['backup']],
    [['create', 'extra']],
    [['verify']],
    [['create', '--compression', '12']],
    [['restore', 'a.dump', '--mode', 'swap']],
    [['list', '--database-url', 'postgres://x']],
  ])('rejects %j', (argv) => {
    expect(() => parseBackupArgs(argv)).toThrow(UsageError);
  });
});

describeWithPgDump('carebase backup', { timeout: 180_000 }, () => {
  it('create --json, list --json, verify, restore and prune --dry-run', async () => {
    const create = io(false);
    expect(await backupCommand(['create', '--json', '--name', 'cli'], create.io)).toBe(0);
    const backup = JSON.parse(create.stdout.join('')) as {
      path: string;
      manifest: { tables: Record<string, number> };
    };
    expect(backup.manifest.tables['public.t']).toBe(5000);
    expect(create.stderr.join('')).toBe('');

    const list = io(false);
    expect(await backupCommand(['list', '--json'], list.io)).toBe(0);
    expect(
      (JSON.parse(list.stdout.join('')) as Array<{ name: string; status: string }>).map((i) => [
        i.name,
        i.status,
      ]),
    ).toEqual([['cli.dump', 'ok']]);

    const verify = io(false);
    expect(await backupCommand(['verify', backup.path], verify.io)).toBe(0);
    expect(verify.stdout.join('')).toContain('ok: ');

    const restore = io(true);
    expect(await backupCommand(['restore', backup.path], restore.io)).toBe(0);
    expect(restore.stdout.join('')).toMatch(/restored into postgres:\/\/.*_restored_/);
    // A TTY gets a progress bar on stderr.
    expect(restore.stderr.join('')).toMatch(/\r.*restoring \[[#-]+\]/);

    const prune = io(false);
    expect(
      await backupCommand(
        ['prune', '--dry-run', '--keep-last', '0', '--max-age-days', '0', '--json'],
        prune.io,
      ),
    ).toBe(0);
    const pruned = JSON.parse(prune.stdout.join('')) as {
      deleted: unknown[];
      newestVerified: string;
      dryRun: boolean;
    };
    expect(pruned).toMatchObject({ deleted: [], newestVerified: 'cli.dump', dryRun: true });
  });

  it('shows a progress bar for create on a TTY and stays quiet otherwise', async () => {
    const tty = io(true);
    expect(await backupCommand(['create', '--name', 'tty'], tty.io)).toBe(0);
    const drawn = tty.stderr.join('');
    expect(drawn).toContain('\r\u001b[2K');
    expect(drawn).toMatch(/(dumping|checksumming|done) \[[#-]+\]/);
    const plain = io(false);
    expect(await backupCommand(['create', '--name', 'plain'], plain.io)).toBe(0);
    expect(plain.stderr.join('')).toBe('');
    expect(plain.stdout.join('')).toContain('plain.dump');
  });

  it('exits 1 with a JSON error for a failure, and 2 with usage for bad arguments', async () => {
    const failing = io(false);
    expect(await backupCommand(['verify', `${dir.path}/missing.dump`, '--json'], failing.io)).toBe(1);
    const usage = io(false);
    expect(await backupCommand(['explode'], usage.io)).toBe(2);
    expect(usage.stderr.join('')).toContain('Usage: carebase backup');
    const exists = io(false);
    expect(await backupCommand(['create', '--name', 'cli', '--json'], exists.io)).toBe(1);
    expect(JSON.parse(exists.stdout.join(''))).toMatchObject({ ok: false, error: { code: 'BACKUP_FAILED' } });
  });
});
