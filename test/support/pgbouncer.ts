import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's package installs PgBouncer (`.ci/run` installs it when missing). */
const PGBOUNCER = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

/** Why PgBouncer cannot run here, or undefined when it can. */
export const pgbouncerMissing: string | undefined = (() => {
  try {
    accessSync(PGBOUNCER, constants.X_OK);
    return undefined;
  } catch {
    return `${PGBOUNCER} is not installed (apt-get install pgbouncer; .ci/run does it as root)`;
  }
})();

/** A PgBouncer in transaction mode on loopback, in front of one PostgreSQL server. */
export interface TestPgBouncer {
  readonly port: number;
  /** `url` with its host and port swapped for PgBouncer's. */
  urlFor(url: string): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer (`pool_mode = transaction`, no `ignore_startup_parameters`: as strict as a
 * default install) for the server at `serverPort`, for `users` (name, password), as a
 * non-daemonized child process. As root it runs as the `postgres` account (PgBouncer refuses
 * root), like the throwaway clusters.
 */
export async function startPgBouncer(options: {
  readonly serverPort: number;
  readonly users: readonly { readonly name: string; readonly password?: string | undefined }[];
  readonly poolSize?: number;
}): Promise<TestPgBouncer> {
  const dir = await mkdtemp(join(tmpdir(), 'carebase-pgbouncer-'));
  const port = await freePort();
  const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
  await writeFile(
    join(dir, 'userlist.txt'),
    options.users.map((user) => `${quote(user.name)} ${quote(user.password ?? '')}\n`).join(''),
  );
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=127.0.0.1 port=${options.serverPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 2000',
      `default_pool_size = ${options.poolSize ?? 10}`,
      'max_db_connections = 0',
      'server_reset_query =',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  let file = PGBOUNCER;
  let args = [join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim();
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim();
    // PgBouncer's own account owns its folder (it writes its log there); nobody else reads it.
    for (const name of ['', 'userlist.txt', 'pgbouncer.ini'])
      await chown(join(dir, name), Number(uid), Number(gid));
    await chmod(dir, 0o700);
    args = [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', file, ...args];
    file = 'setpriv';
  }
  const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('error', () => {});
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = await readFile(join(dir, 'pgbouncer.log'), 'utf8').catch(() => '');
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start: ${stderr}${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    urlFor(url: string): string {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    async stop(): Promise<void> {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}
