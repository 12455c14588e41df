import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackup } from 'carebase/backup';
import { fileMigrations, migrate } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery } from '../support/database.js';
import { baseEnv, built, carebase, inBatches, type Run } from './bin.js';

// The CLI's one contract, checked for every command the way better-auth's shared adapter suite
// checks every adapter: help on stdout, --json as exactly one JSON document, exit codes, no
// database configured, a password in --url refused before connecting, EPIPE, and no password on
// any command line of the process tree. Runs the built bin (dist/cli.js).

const PASSWORD = 'CbContract-s3cret-9f2';
let database: TestDatabase;
let work: string;
let urlWithPassword: string;
let archive: string;
let trap: Server;
let trapPort: number;
let trapConnections = 0;

interface Case {
  readonly path: readonly string[];
  /** Arguments of a real run that succeeds (or, for doctor, may find something). */
  readonly args: () => readonly string[];
  readonly needsDatabase: boolean;
  /** Exit codes a real run may have. */
  readonly codes: readonly number[];
}

const CASES: readonly Case[] = [
  { path: ['migrate', 'up'], args: () => [], needsDatabase: true, codes: [0] },
  {
    path: ['migrate', 'down'],
    args: () => ['--dir', join(work, 'app'), '--namespace', 'app', '--dry-run'],
    needsDatabase: true,
    codes: [0],
  },
  { path: ['migrate', 'status'], args: () => [], needsDatabase: true, codes: [0] },
  {
    path: ['migrate', 'create'],
    args: () => [`n${Math.random().toString(36).slice(2, 8)}`, '--dir', join(work, 'new')],
    needsDatabase: false,
    codes: [0],
  },
  { path: ['migrate', 'lint'], args: () => ['--dir', join(work, 'app')], needsDatabase: false, codes: [0] },
  {
    path: ['backup', 'create'],
    args: () => ['--dir', join(work, 'made'), '--name', `b${Math.random().toString(36).slice(2, 8)}`],
    needsDatabase: true,
    codes: [0],
  },
  {
    path: ['backup', 'list'],
    args: () => ['--dir', join(work, 'backups')],
    needsDatabase: false,
    codes: [0],
  },
  { path: ['backup', 'verify'], args: () => [archive], needsDatabase: false, codes: [0] },
  { path: ['backup', 'restore'], args: () => [archive], needsDatabase: true, codes: [0] },
  {
    path: ['backup', 'prune'],
    args: () => ['--dir', join(work, 'backups'), '--dry-run'],
    needsDatabase: false,
    codes: [0],
  },
  { path: ['audit', 'verify'], args: () => [], needsDatabase: true, codes: [0] },
  { path: ['import', 'chat-json'], args: () => [join(work, 'chat.json')], needsDatabase: true, codes: [0] },
  { path: ['doctor'], args: () => [], needsDatabase: true, codes: [0, 1] },
];

function envWithDatabase(): Record<string, string> {
  return { ...baseEnv(), DATABASE_URL: urlWithPassword, PGPASSWORD: PASSWORD };
}

function jsonDocument(run: Run): { ok: boolean } & Record<string, unknown> {
  // Exactly one document: JSON.parse fails on anything before or after it.
  return JSON.parse(run.stdout) as { ok: boolean };
}

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' }); // migrates, rolls back and creates tables
  const url = new URL(database.url);
  url.password = PASSWORD; // the shared test server trusts local connections: the password is only carried
  urlWithPassword = url.toString();
  work = mkdtempSync(join(tmpdir(), 'carebase-contract-'));
  mkdirSync(join(work, 'app'));
  writeFileSync(
    join(work, 'app', '0001_notes.sql'),
    'create table public.contract_notes (id int);\n-- carebase:down\ndrop table if exists public.contract_notes;\n',
  );
  await migrate(database.url, { sources: [fileMigrations(join(work, 'app'), { namespace: 'app' })] });
  await database.db.users.create({
    username: 'contract_user',
    email: 'contract@example.org',
    password: 'a-long-enough-password-1',
    role: 'nurse',
  });
  await database.db.audit.log({ action: 'chart.view', resourceType: 'chart' });
  writeFileSync(
    join(work, 'chat.json'),
    JSON.stringify({ contract_user: [{ role: 'user', content: 'hello' }] }),
  );
  archive = (
    await createBackup({ connectionString: database.url, dir: join(work, 'backups'), name: 'contract' })
  ).path;
  trap = createServer((socket) => {
    trapConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  trapPort = (trap.address() as { port: number }).port;
}, 120_000);

afterAll(async () => {
  trap?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  if (database !== undefined) {
    const restored = await adminQuery<{ datname: string }>(
      'select datname from pg_database where datname like $1',
      [`${database.name}_restored_%`],
    );
    for (const row of restored) await adminQuery(`drop database if exists "${row.datname}" with (force)`);
    await database.drop();
  }
});

describe.skipIf(!built)(
  'the CLI contract, for every command (skipped without dist/: npm run build)',
  { timeout: 300_000 },
  () => {
    it('lists every command in carebase --help, on stdout', async () => {
      const help = await carebase(['--help']);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      for (const { path } of CASES) expect(help.stdout).toContain(`  ${path.join(' ')}`);
      const group = await carebase(['backup', '--help']);
      expect(group).toMatchObject({ code: 0, stderr: '' });
      expect(group.stdout).toContain('backup prune');
      const unknown = await carebase(['frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stdout).toBe('');
    });

    it('help: on stdout with exit 0, and as one JSON document with --json', async () => {
      const runs = await inBatches(CASES, 4, async ({ path }) => ({
        path,
        text: await carebase([...path, '--help']),
        json: await carebase([...path, '--help', '--json']),
      }));
      for (const { path, text, json } of runs) {
        expect(text, path.join(' ')).toMatchObject({ code: 0, stderr: '' });
        expect(text.stdout).toMatch(new RegExp(`^Usage: carebase ${path.join(' ')}`));
        for (const flag of ['--url', '--env-file', '--schema', '--json', '--help'])
          expect(text.stdout).toContain(flag);
        expect(json.code).toBe(0);
        expect(jsonDocument(json)).toMatchObject({ ok: true });
      }
    });

    it('usage errors: exit 2, the usage on stderr, a JSON error with --json', async () => {
      const runs = await inBatches(CASES, 4, async ({ path }) => ({
        path,
        text: await carebase([...path, '--bogus']),
        json: await carebase([...path, '--bogus', '--json']),
      }));
      for (const { path, text, json } of runs) {
        expect(text.code, path.join(' ')).toBe(2);
        expect(text.stdout).toBe('');
        expect(text.stderr).toContain("Unknown option '--bogus'");
        expect(text.stderr).toContain('Usage:');
        expect(json.code).toBe(2);
        expect(jsonDocument(json)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
      }
    });

    it('no database configured: every database command exits 2 with a one-line hint, touching nothing', async () => {
      const runs = await inBatches(CASES, 4, async (item) => ({
        item,
        text: await carebase([...item.path, ...item.args()], { env: baseEnv(), cwd: work }),
        json: await carebase([...item.path, ...item.args(), '--json'], { env: baseEnv(), cwd: work }),
      }));
      for (const { item, text, json } of runs) {
        const name = item.path.join(' ');
        if (item.needsDatabase) {
          expect(text.code, name).toBe(2);
          expect(text.stdout).toBe('');
          expect(text.stderr.trimEnd().split('\n'), name).toHaveLength(1);
          expect(text.stderr).toContain('no database configured: set DATABASE_URL');
          expect(jsonDocument(json)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
        } else {
          // Commands that only read or write files work without a database.
          expect(text.code, `${name}: ${text.stderr}`).toBe(0);
        }
      }
      // Nothing was backed up or restored anywhere.
      const restored = await adminQuery('select 1 from pg_database where datname like $1', [
        `${database.name}_restored_%`,
      ]);
      expect(restored).toEqual([]);
    });

    it('a password in --url is refused with exit 2 before anything connects', async () => {
      const before = trapConnections;
      const url = `postgres://alice:${PASSWORD}@127.0.0.1:${trapPort}/app`;
      const runs = await inBatches(CASES, 4, async ({ path, args }) => ({
        path,
        run: await carebase([...path, ...args(), '--url', url], { env: baseEnv(), cwd: work }),
      }));
      for (const { path, run } of runs) {
        expect(run.code, path.join(' ')).toBe(2);
        expect(run.stderr).toContain('--url must not contain a password');
        expect(run.stdout + run.stderr).not.toContain(PASSWORD);
      }
      expect(trapConnections).toBe(before);
    });

    it('a real run: the documented exit code, and exactly one JSON document with --json', async () => {
      const runs = await inBatches(CASES, 3, async (item) => ({
        item,
        run: await carebase([...item.path, ...item.args(), '--json'], { env: envWithDatabase(), cwd: work }),
      }));
      for (const { item, run } of runs) {
        const name = item.path.join(' ');
        expect(item.codes, `${name}: ${run.stderr}`).toContain(run.code);
        const document = jsonDocument(run);
        expect(document.ok, name).toBe(run.code === 0);
        expect(run.stdout + run.stderr).not.toContain(PASSWORD);
      }
    });

    it('stdout closed by the reader (EPIPE): no crash, no stack, the same exit code', async () => {
      const runs = await inBatches(CASES, 3, async (item) => ({
        item,
        run: await carebase([...item.path, ...item.args()], {
          env: envWithDatabase(),
          cwd: work,
          closeStdout: true,
        }),
      }));
      for (const { item, run } of runs) {
        const name = item.path.join(' ');
        expect(run.signal, name).toBeNull();
        expect(item.codes, `${name}: ${run.stderr}`).toContain(run.code);
        expect(run.stderr, name).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
      }
    });

    it('no password on the command line of the CLI or any process it starts', async () => {
      const extra = [
        { path: ['backup', 'verify'], args: () => [archive, '--trial-restore'] },
        { path: ['migrate', 'status'], args: () => ['--url', database.url] },
        { path: ['migrate', 'status'], args: () => ['--env-file', join(work, 'db.env')] },
      ];
      writeFileSync(join(work, 'db.env'), `DATABASE_URL=${urlWithPassword}\n`);
      const runs = await inBatches([...CASES, ...extra], 2, async (item) => ({
        item,
        run: await carebase([...item.path, ...item.args()], {
          env: envWithDatabase(),
          cwd: work,
          watchCmdline: true,
        }),
      }));
      let sawChildren = false;
      for (const { item, run } of runs) {
        expect(run.cmdlines.length, item.path.join(' ')).toBeGreaterThan(0);
        if (run.cmdlines.some((line) => /pg_dump|pg_restore/.test(line))) sawChildren = true;
        for (const line of run.cmdlines) expect(line, item.path.join(' ')).not.toContain(PASSWORD);
      }
      expect(sawChildren).toBe(true);
    });
  },
);
