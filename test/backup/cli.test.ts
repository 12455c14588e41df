import { spawn } from 'node:child_process';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase, cli } from '../cli/bin.js';
import { pgDumpMissing, tempDir } from '../support/backup.js';
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

const env = () => ({ ...baseEnv(), DATABASE_URL: database.url, BACKUP_DIR: dir.path });

const skipWhy = !built ? 'dist/cli.js is not built' : pgDumpMissing;
describe.skipIf(skipWhy !== undefined)(
  `carebase backup (the built bin)${skipWhy === undefined ? '' : ` (skipped: ${skipWhy})`}`,
  { timeout: 180_000 },
  () => {
    it('create --json, list --json, verify, restore, prune --dry-run', async () => {
      const create = await carebase(['backup', 'create', '--json', '--name', 'cli'], { env: env() });
      expect(create.code, create.stderr).toBe(0);
      const backup = JSON.parse(create.stdout) as {
        path: string;
        manifest: { tables: Record<string, number> };
      };
      expect(backup.manifest.tables['public.t']).toBe(5000);
      expect(create.stderr).toBe('');
      const list = await carebase(['backup', 'list', '--json'], { env: env() });
      expect(
        (JSON.parse(list.stdout) as { items: { name: string; status: string }[] }).items.map((i) => [
          i.name,
          i.status,
        ]),
      ).toEqual([['cli.dump', 'ok']]);
      const verify = await carebase(['backup', 'verify', backup.path], { env: env() });
      expect(verify.code).toBe(0);
      expect(verify.stdout).toContain('ok: ');
      const restore = await carebase(['backup', 'restore', backup.path], { env: env() });
      expect(restore.code, restore.stderr).toBe(0);
      expect(restore.stdout).toMatch(/restored into postgres:\/\/.*_restored_/);
      const prune = await carebase(
        ['backup', 'prune', '--dry-run', '--keep-last', '0', '--max-age-days', '0', '--json'],
        {
          env: env(),
        },
      );
      expect(JSON.parse(prune.stdout)).toMatchObject({
        deleted: [],
        newestVerified: 'cli.dump',
        dryRun: true,
      });
    });

    it('prune says why each backup it keeps stays', async () => {
      for (const name of ['p2', 'p3', 'p4']) {
        expect((await carebase(['backup', 'create', '--name', name], { env: env() })).code).toBe(0);
      }
      const run = await carebase(['backup', 'prune', '--keep-last', '2'], { env: env() });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('deleted 0 backups, kept 4');
      expect(run.stdout).toMatch(
        /kept: p4\.dump: one of the 2 newest \(--keep-last\); younger than 30 days \(--max-age-days\)/,
      );
      expect(run.stdout).toMatch(/kept: cli\.dump: younger than 30 days \(--max-age-days\)/);
    });

    it('help on stdout; a failure exits 1 with a JSON error; bad arguments exit 2', async () => {
      const help = await carebase(['backup', '--help']);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      expect(help.stdout).toContain('backup create');
      const missing = await carebase(['backup', 'verify', `${dir.path}/missing.dump`, '--json'], {
        env: env(),
      });
      expect(missing.code).toBe(1);
      const exists = await carebase(['backup', 'create', '--name', 'cli', '--json'], { env: env() });
      expect(exists.code).toBe(1);
      expect(JSON.parse(exists.stdout)).toMatchObject({ ok: false, error: { code: 'BACKUP_FAILED' } });
      expect((await carebase(['backup', 'explode'], { env: env() })).code).toBe(2);
      expect((await carebase(['backup', 'create', '--compression', '12'], { env: env() })).code).toBe(2);
      expect((await carebase(['backup', 'restore', 'a.dump', '--mode', 'swap'], { env: env() })).code).toBe(
        2,
      );
    });

    it('backup list | head -0: no EPIPE crash (3 of 3)', async () => {
      for (let i = 0; i < 3; i++) {
        const run = await carebase(['backup', 'list'], { env: env(), closeStdout: true });
        expect(run.code).toBe(0);
        expect(run.stderr).toBe('');
      }
    });

    it('shows progress through cli-progress on a terminal, and nothing without one', async () => {
      const output = await new Promise<string>((resolve, reject) => {
        const child = spawn(
          'script',
          ['-qec', `${process.execPath} ${cli} backup create --name tty`, '/dev/null'],
          {
            env: env(),
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        );
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(text));
      });
      expect(output).toMatch(/backup (dumping|checksumming|done): \d+\.\d MB/);
      expect(output).toContain('tty.dump');
      const plain = await carebase(['backup', 'create', '--name', 'plain'], { env: env() });
      expect(plain.stderr).toBe('');
    });
  },
);
