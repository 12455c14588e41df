import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These run the built package in child processes (`npm test` builds first): as an unprivileged
// user, and to prove the throwaway cluster is removed when its process exits or is killed.
const root = fileURLToPath(new URL('../..', import.meta.url));
const entry = `${root}dist/testing.js`;
const built = existsSync(entry);
const isRoot = process.getuid?.() === 0;
const hasPostgresUser = spawnSync('id', ['-u', 'postgres']).status === 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/status`, 'utf8').includes('State:\tZ');
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

/** Runs `script` (an ES module body with `startPostgres` etc. in scope); resolves its first JSON line. */
function child(
  script: string,
  wrap: string[] = [],
  detached = false,
): { process: ChildProcess; first: Promise<Record<string, unknown>> } {
  const env = { ...process.env };
  delete env.CAREBASE_TEST_DATABASE_URL;
  const source = `import { startPostgres, createTestDatabase } from ${JSON.stringify(entry)};\n${script}`;
  const args = [...wrap, process.execPath, '--input-type=module', '-e', source];
  const proc = spawn(args[0] as string, args.slice(1), {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached, // its own process group, as a program started from a terminal
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    proc.on('exit', (code) => reject(new Error(`child exited (${code}) before reporting: ${stderr}`)));
  });
  return { process: proc, first };
}

const START = `
  const server = await startPostgres({ provider: 'local' });
  const { readFileSync } = await import('node:fs');
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const dataDir = (await client.query("select current_setting('data_directory') as d")).rows[0].d;
  await client.end();
  const pid = Number(readFileSync(dataDir + '/postmaster.pid', 'utf8').split('\\n')[0]);
`;

describe.skipIf(!built)(
  'local clusters across process boundaries (skipped when dist/ is missing: npm run build)',
  () => {
    it.runIf(isRoot && hasPostgresUser)(
      'works when the calling process is not root (run as the postgres user)',
      async () => {
        const { first } = child(
          `${START}
        const database = await createTestDatabase({ serverUrl: server.url });
        const health = await database.db.health();
        await database.drop();
        await server.stop();
        const { existsSync } = await import('node:fs');
        console.log(JSON.stringify({ uid: process.getuid(), ok: health.ok, pending: health.pendingMigrations,
          dirLeft: existsSync(dataDir), pidLeft: (() => { try { process.kill(pid, 0); return true; } catch { return false; } })() }));`,
          ['runuser', '-u', 'postgres', '--'],
        );
        const result = await first;
        expect(result.uid).not.toBe(0);
        expect(result).toMatchObject({ ok: true, pending: 0, dirLeft: false, pidLeft: false });
      },
      60_000,
    );

    it('removes the cluster when the process exits without stop()', async () => {
      const { first } = child(`${START} console.log(JSON.stringify({ dataDir, pid })); process.exit(0);`);
      const { dataDir, pid } = (await first) as { dataDir: string; pid: number };
      expect(await eventually(() => !alive(pid) && !existsSync(dataDir), 10_000)).toBe(true);
    }, 60_000);

    it('lets a host that handles SIGINT itself use the server during its shutdown, then removes it', async () => {
      const { process: proc, first } = child(
        `${START}
        const database = await createTestDatabase({ serverUrl: server.url });
        process.once('SIGINT', async () => {
          await new Promise((resolve) => setTimeout(resolve, 200)); // an async graceful shutdown
          await database.drop(); // needs the server still up
          console.error('dropped');
          process.exit(0);
        });
        console.log(JSON.stringify({ dataDir, pid }));
        setInterval(() => {}, 1000);`,
        [],
        true,
      );
      let stderr = '';
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const { dataDir, pid } = (await first) as { dataDir: string; pid: number };
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      process.kill(-(proc.pid ?? 0), 'SIGINT'); // a terminal's Ctrl-C: the whole process group

      expect(await exited).toBe(0);
      expect(stderr).toContain('dropped');
      expect(await eventually(() => !alive(pid) && !existsSync(dataDir), 15_000)).toBe(true);
    }, 60_000);

    it('removes the cluster when the process is killed by SIGTERM, or by SIGKILL (watchdog)', async () => {
      for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
        const { process: proc, first } = child(
          `${START} console.log(JSON.stringify({ dataDir, pid })); setInterval(() => {}, 1000);`,
        );
        const { dataDir, pid } = (await first) as { dataDir: string; pid: number };
        expect(alive(pid)).toBe(true);
        proc.kill(signal);
        expect(await eventually(() => !alive(pid) && !existsSync(dataDir), 15_000)).toBe(true);
      }
    }, 90_000);
  },
);
