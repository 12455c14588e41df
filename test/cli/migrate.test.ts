import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// End to end: spawns the built bin (dist/cli.js) as a user would run `npx carebase ...`.
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist', 'cli.js');
const built = existsSync(cli);

let database: TestDatabase;
let work: string;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  work = mkdtempSync(join(tmpdir(), 'carebase-cli-'));
});

afterAll(async () => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  await database?.drop();
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function carebase(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('DB_') && key !== 'DATABASE_URL'),
    );
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: work,
      env: { ...clean, DATABASE_URL: database.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const host = ['--dir', 'db', '--namespace', 'app'];

describe.skipIf(!built)(
  'carebase migrate (skipped when dist/ is missing: npm run build)',
  { timeout: 180_000 },
  () => {
    it('prints usage, and exits 2 on usage errors', async () => {
      const help = await carebase(['--help']);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      expect(help.stdout).toContain('migrate');
      const unknown = await carebase(['frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown command: frobnicate');
      const cases = [
        ['migrate'],
        ['migrate', 'sideways'],
        ['migrate', 'up', '--steps', '2'],
        ['migrate', 'down', '--steps', 'two'],
        ['migrate', 'up', '--bogus'],
        ['migrate', 'up', '--dir', 'db'],
        ['migrate', 'create'],
        ['migrate', 'up', '--lock-timeout', 'soon'],
        ['migrate', 'down', '--steps', '1', '--to', 'x'],
      ];
      const runs: Run[] = [];
      // A few at a time: each spawn starts a Node process, and the machine is shared.
      for (let i = 0; i < cases.length; i += 4) {
        runs.push(...(await Promise.all(cases.slice(i, i + 4).map((args) => carebase(args)))));
      }
      for (const [index, run] of runs.entries()) {
        expect(run.code, cases[index]?.join(' ')).toBe(2);
        expect(run.stderr).toContain('Usage:');
        expect(run.stderr).not.toMatch(/\n\s+at /);
      }
    });

    it('create writes numbered files with a down section', async () => {
      expect(await carebase(['migrate', 'create', 'add notes', '--dir', 'db'])).toMatchObject({
        code: 0,
        stdout: `created ${join('db', '0001_add_notes.sql')}\n`,
      });
      expect((await carebase(['migrate', 'create', 'seed-notes', '--dir', 'db'])).code).toBe(0);
      expect(readdirSync(join(work, 'db'))).toEqual(['0001_add_notes.sql', '0002_seed_notes.sql']);
      expect(readFileSync(join(work, 'db', '0001_add_notes.sql'), 'utf8')).toContain('-- carebase:down');
      writeFileSync(
        join(work, 'db', '0001_add_notes.sql'),
        'create table notes (id int primary key, body text);\n-- carebase:down\ndrop table notes;\n',
      );
      writeFileSync(join(work, 'db', '0002_seed_notes.sql'), "insert into notes values (1, 'a');\n");
    });

    it('status shows a table (and JSON) of pending migrations; up --dry-run executes nothing', async () => {
      const status = await carebase(['migrate', 'status', ...host]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/namespace\s+migration\s+state\s+applied at/);
      expect(status.stdout).toMatch(/app\s+0001_add_notes\s+pending/);
      expect(status.stdout).toContain(', schema carebase');
      const json = await carebase(['migrate', 'status', '--json', ...host]);
      const statuses = JSON.parse(json.stdout) as { namespace: string; pending: string[] }[];
      expect(statuses.map((entry) => entry.namespace)).toEqual(['carebase', 'app']);
      expect(statuses[1]?.pending).toEqual(['0001_add_notes', '0002_seed_notes']);

      const plan = await carebase(['migrate', 'up', '--dry-run', '--json', ...host]);
      expect(plan.code).toBe(0);
      const parsed = JSON.parse(plan.stdout) as { plan: { namespace: string; name: string }[]; results: [] };
      expect(parsed.results).toEqual([]);
      expect(parsed.plan.slice(-2).map((step) => step.name)).toEqual(['0001_add_notes', '0002_seed_notes']);
      const upTo = await carebase([
        'migrate',
        'up',
        '--dry-run',
        '--json',
        '--to',
        'carebase/0001_foundation',
        ...host,
      ]);
      expect((JSON.parse(upTo.stdout) as { plan: { name: string }[] }).plan.map((step) => step.name)).toEqual(
        ['0001_foundation'],
      );
      const table = await carebase(['migrate', 'up', '--dry-run', ...host]);
      expect(table.stdout).toMatch(/up\s+app\s+0002_seed_notes\s+yes\s+[0-9a-f]{12}/);
    });

    it('up applies the library and the host folder; down rolls back, and refuses without a down section', async () => {
      const up = await carebase(['migrate', 'up', ...host]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toMatch(/applied carebase\/0001_foundation \(\d+ ms\)/);
      expect(up.stdout).toMatch(/applied app\/0002_seed_notes \(\d+ ms\)/);
      expect((await carebase(['migrate', 'up', ...host])).stdout).toBe(
        'nothing to apply: the database is up to date\n',
      );

      const refused = await carebase(['migrate', 'down', ...host]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'cannot roll back app/0002_seed_notes: it has no "-- carebase:down" section',
      );
      expect(refused.stderr).not.toMatch(/\n\s+at /);

      writeFileSync(
        join(work, 'db', '0002_seed_notes.sql'),
        "insert into notes values (1, 'a');\n-- carebase:down\ndelete from notes;\n",
      );
      // Editing an applied migration is drift: named, exit 1.
      const drift = await carebase(['migrate', 'up', ...host]);
      expect(drift.code).toBe(1);
      expect(drift.stderr).toContain('app/0002_seed_notes was edited after it was applied');
      const status = await carebase(['migrate', 'status', ...host]);
      expect(status.stdout).toMatch(/app\s+0002_seed_notes\s+changed/);
    });

    it('down --steps N rolls back the host source, with JSON output', async () => {
      writeFileSync(join(work, 'db', '0002_seed_notes.sql'), "insert into notes values (1, 'a');\n");
      writeFileSync(
        join(work, 'db', '0003_more.sql'),
        'create table more (id int);\n-- carebase:down\ndrop table more;\n',
      );
      expect((await carebase(['migrate', 'up', ...host])).code).toBe(0);
      const down = await carebase(['migrate', 'down', '--steps', '1', '--json', ...host]);
      expect(down.code, down.stderr).toBe(0);
      const result = JSON.parse(down.stdout) as { results: { name: string; status: string }[] };
      expect(result.results).toMatchObject([{ name: '0003_more', status: 'rolled-back' }]);
      const status = await carebase(['migrate', 'status', '--json', ...host]);
      expect((JSON.parse(status.stdout) as { pending: string[] }[])[1]?.pending).toEqual(['0003_more']);
    });

    it('fails with exit 1 and no password or stack when the database is unreachable', async () => {
      const secret = 'Sup3rSecretPw';
      const [viaFlag, viaEnv, viaParts, badEnv] = await Promise.all([
        carebase(['migrate', 'status', '--url', `postgres://alice:${secret}@127.0.0.1:1/nowhere`]),
        carebase(['migrate', 'up'], { DATABASE_URL: `postgres://alice:${secret}@127.0.0.1:1/nowhere` }),
        carebase(['migrate', 'up'], {
          DATABASE_URL: '',
          DB_HOST: '127.0.0.1',
          DB_PORT: '1',
          DB_USER: 'alice',
          DB_PASSWORD: secret,
        }),
        carebase(['migrate', 'status'], { DB_PORT: 'abc' }),
      ]);
      for (const run of [viaFlag, viaEnv, viaParts]) {
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/could not reach the server|connection/i);
        expect(run.stdout + run.stderr).not.toContain(secret);
        expect(run.stderr).not.toMatch(/\n\s+at /);
      }
      expect(badEnv?.code).toBe(2);
      expect(badEnv?.stderr).toContain('DB_PORT');
    });
  },
);
