import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support.ts';

/**
 * The runnable entry, as `npm run example:express` starts it: a real child process running the
 * built package (`carebase` resolves to dist/ by self-reference), stopped with SIGTERM.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const entry = 'examples/express/src/server.ts';

let database: TestDatabase;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  database = await createTestDatabase();
});

afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

afterAll(async () => {
  await database?.drop();
});

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  readonly password: (username: string) => string;
}

/** Spawns the server and resolves once it printed its URL and both generated passwords. */
async function startServer(env: Record<string, string | undefined>): Promise<Started> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', entry], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const deadline = Date.now() + 60_000;
  while (!/Ctrl-C stops/.test(output)) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
  if (url === undefined) throw new Error(`no URL printed:\n${output}`);
  return {
    child,
    url,
    output: () => output,
    password: (username) => {
      const found = new RegExp(`${username} \\(\\w+\\) password, shown once: (\\S+)`).exec(output)?.[1];
      if (found === undefined) throw new Error(`no password printed for ${username}`);
      return found;
    },
  };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

// Each test boots a process (imports, migrations, two bcrypt hashes at the default cost 12): allow
// for a loaded CI machine.
const BOOT_TIMEOUT_MS = 90_000;

describe('npm run example:express', () => {
  it(
    'serves DATABASE_URL, logs in with a printed password, and exits 0 on SIGTERM',
    async () => {
      const server = await startServer({ DATABASE_URL: database.url });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.output()).toContain('database: DATABASE_URL');

      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      const nurse = new Client(server.url);
      await nurse.login('demo-nurse', server.password('demo-nurse'));
      expect((await nurse.post('/chat/messages', { content: 'from the spawned server' })).status).toBe(201);
      const admin = new Client(server.url);
      await admin.login('demo-admin', server.password('demo-admin'));
      expect((await admin.get('/admin/audit?action=user.login')).status).toBe(200);
      // The printed passwords are not something a reader could guess or copy from the source.
      expect(server.password('demo-admin')).not.toBe(server.password('demo-nurse'));

      expect(await stop(server.child)).toBe(0);
      expect(server.output()).toContain('SIGTERM: shutting down');
      // The host's database is left in place, with the demo accounts in it.
      const users = await database.db.users.list({});
      expect(users.items.map((user) => user.username).sort()).toEqual(['demo-admin', 'demo-nurse']);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    'resets the demo passwords when the accounts already exist',
    async () => {
      const server = await startServer({ DATABASE_URL: database.url });
      const nurse = new Client(server.url);
      await nurse.login('demo-nurse', server.password('demo-nurse'));
      expect(await stop(server.child)).toBe(0);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    'without DATABASE_URL, uses a throwaway database and drops it on exit',
    async () => {
      const server = await startServer({ DATABASE_URL: undefined });
      const name = /database: throwaway (\S+)/.exec(server.output())?.[1] ?? '';
      expect(name).toMatch(/^carebase_test_/);
      const exists = async () => {
        const { rows } = await sql<{
          n: number;
        }>`select count(*)::int as n from pg_database where datname = ${name}`.execute(database.db.db);
        return rows[0]?.n;
      };
      expect(await exists()).toBe(1);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect(await stop(server.child)).toBe(0);
      expect(await exists()).toBe(0);
    },
    BOOT_TIMEOUT_MS,
  );
});
