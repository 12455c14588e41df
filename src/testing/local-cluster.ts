import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ConnectionError } from '../errors/errors.js';
import { defaultBinaryDirs, findPostgresBinaries, type PostgresBinaries } from './find-binaries.js';
import { onProcessExit, sleepSync } from './process-exit.js';
import { asUser, type Command, isRoot, type RunAsUser, unprivilegedUser } from './run-as.js';

/**
 * Options of the local provider.
 *
 * @example
 * ```ts
 * import { type LocalClusterOptions, startPostgres } from 'carebase/testing';
 * // A pinned server version, logging slow statements.
 * const local: LocalClusterOptions = {
 *   binDirs: ['/usr/lib/postgresql/16/bin'],
 *   settings: { log_min_duration_statement: 100 },
 * };
 * await using server = await startPostgres({ provider: 'local', local });
 * ```
 */
export interface LocalClusterOptions {
  /**
   * Directories to look for `initdb` and `postgres` in, instead of the defaults (`PG_BIN_DIR`
   * alone when set, else `PATH`, `/usr/lib/postgresql/<newest>/bin`, `/usr/pgsql-<newest>/bin`,
   * Homebrew's). An empty list finds nothing. Not used by the embedded provider.
   */
  readonly binDirs?: readonly string[];
  /**
   * The account that runs PostgreSQL when this process is root.
   * @default 'postgres' if it exists, else a created 'carebase-pg' system account, else 'nobody'
   */
  readonly user?: string;
  /** How long to wait for the server to accept connections. @default 30000 */
  readonly startTimeoutMs?: number;
  /** Extra server settings (`-c name=value`), on top of the fast test settings. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/**
 * How `TestPostgres.restart()` stops the server, as `pg_ctl restart -m <mode>` does (the same
 * signals): `fast` (SIGINT) rolls back open transactions and disconnects every client; `immediate`
 * (SIGQUIT) stops every process at once, like a crash, and the server runs crash recovery when it
 * starts again; `smart` (SIGTERM) waits for clients to disconnect first.
 *
 * @example
 * ```ts
 * import { type RestartMode, startPostgres } from 'carebase/testing';
 * await using server = await startPostgres({ provider: 'local' });
 * for (const mode of ['fast', 'immediate'] satisfies RestartMode[]) await server.restart({ mode });
 * ```
 */
export type RestartMode = 'smart' | 'fast' | 'immediate';

/** A running throwaway cluster. */
export interface LocalCluster {
  /** Where its data directory, Unix socket and logs live (removed by `stop()`). */
  readonly dir: string;
  readonly url: string;
  /** Where its `initdb` and `postgres` are. */
  readonly binDir: string;
  readonly dataDir: string;
  /** The postmaster's pid (a new one after each restart). */
  readonly pid: number;
  /** Stops the server and starts it again on the same port and data directory. */
  restart(options?: { readonly mode?: RestartMode }): Promise<void>;
  stop(): Promise<void>;
}

const STOP_SIGNALS: Readonly<Record<RestartMode, NodeJS.Signals>> = {
  smart: 'SIGTERM',
  fast: 'SIGINT',
  immediate: 'SIGQUIT',
};

/** Settings for a disposable test server: durability off, room for parallel test pools. */
const FAST_SETTINGS: Readonly<Record<string, string | number>> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 300,
  wal_level: 'minimal',
  max_wal_senders: 0,
  checkpoint_timeout: '1h',
  max_wal_size: '4GB',
  log_min_messages: 'fatal',
  timezone: 'UTC',
  // Marks the server as disposable: carebase/testing keeps spare databases only on such servers.
  'carebase.throwaway': 'on',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function run(command: Command, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      command.file,
      [...command.args],
      { cwd, env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' }, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) resolve();
        else
          reject(
            new ConnectionError(
              `${command.args.join(' ')} failed: ${`${stderr}${stdout}`.trim().slice(-800)}`,
            ),
          );
      },
    );
  });
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new ConnectionError(`postgres exited while starting: ${output().slice(-800)}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline) {
      throw new ConnectionError(
        `postgres did not accept connections within ${timeoutMs} ms: ${output().slice(-800)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A detached watcher that stops the cluster and removes its directory if this process is killed. */
function startWatchdog(postmasterPid: number, dir: string): ChildProcess {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -QUIT "$2" 2>/dev/null; ' +
    'i=0; while kill -0 "$2" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ' +
    'kill -KILL "$2" 2>/dev/null; rm -rf "$3"';
  const watchdog = spawn(
    '/bin/sh',
    ['-c', script, 'carebase-pg-watchdog', String(process.pid), String(postmasterPid), dir],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  watchdog.unref();
  return watchdog;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Starts a throwaway PostgreSQL cluster from local binaries: a fresh data directory under the
 * system's temp dir, `initdb` with trust authentication, a free port on 127.0.0.1 (its Unix
 * socket inside the temp dir), and fast, non-durable settings. When this process is root, the
 * server runs as an unprivileged account that owns the directory. `stop()` (or this process
 * exiting, even by a signal or `SIGKILL`) stops the server and removes the directory.
 *
 * Throws `ConnectionError` saying what was missing or how the server failed to start.
 *
 * @example
 * ```ts
 * const cluster = await startLocalCluster();
 * console.log(cluster.url); // postgres://postgres@127.0.0.1:54123/postgres
 * await cluster.stop();
 * ```
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const search = findPostgresBinaries(options.binDirs ?? defaultBinaryDirs());
  const binaries = search.found;
  if (binaries === undefined) {
    const where =
      options.binDirs !== undefined
        ? search.tried.join(', ') || '(no directories)'
        : process.env.PG_BIN_DIR
          ? `${process.env.PG_BIN_DIR} (PG_BIN_DIR)`
          : "PATH, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin and Homebrew's directories";
    throw new ConnectionError(`no initdb and postgres found; looked in ${where}`);
  }
  return startCluster(() => binaries, options);
}

/**
 * Where a cluster's programs come from: called once the cluster's temp directory exists (owned
 * by `user` when this process is root), so an installation may be staged inside it.
 */
export type InstallProvider = (dir: string, user: RunAsUser | undefined) => PostgresBinaries;

/**
 * How a new cluster's data directory is made: `initdb` (a fresh cluster), or `pg_basebackup -R`
 * from a running cluster (a streaming hot standby of it; its settings must include the source's
 * `max_connections` and `max_wal_senders`).
 */
export type ClusterInit =
  | { readonly kind: 'initdb' }
  | { readonly kind: 'standby'; readonly sourceUrl: string };

/**
 * Settings a primary needs to stream to standbys: WAL for replication, senders for them. Applied
 * by `startPostgres({ replicas })` to the primary and its standbys alike (a hot standby needs at
 * least the primary's `max_wal_senders`).
 */
export const REPLICATION_SETTINGS: Readonly<Record<string, string | number>> = {
  wal_level: 'replica',
  max_wal_senders: 10,
  hot_standby: 'on',
  // A base backup needs full-page images of pages changed while it runs.
  full_page_writes: 'on',
  // WAL reaches the standby when it is flushed: at commit, as in production, rather than when the
  // WAL writer wakes (up to 200 ms later) as with the fast settings' asynchronous commit.
  synchronous_commit: 'on',
};

/** Starts a throwaway cluster (see {@link startLocalCluster}) from the binaries `install` gives. */
export async function startCluster(
  install: InstallProvider,
  options: LocalClusterOptions = {},
  init: ClusterInit = { kind: 'initdb' },
): Promise<LocalCluster> {
  let user: RunAsUser | undefined;
  if (isRoot()) {
    user = unprivilegedUser(options.user);
    if (user === undefined) {
      throw new ConnectionError('running as root, and no unprivileged account to run postgres as was found');
    }
  }
  const wrap = (command: Command): Command => (user === undefined ? command : asUser(user, command));
  const dir = mkdtempSync(join(tmpdir(), 'carebase-pg-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'run');
  mkdirSync(dataDir, { mode: 0o700 });
  mkdirSync(socketDir, { mode: 0o700 });
  if (user !== undefined) {
    for (const path of [dir, dataDir, socketDir]) chownSync(path, user.uid, user.gid);
  }
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  let binaries: PostgresBinaries;
  try {
    binaries = install(dir, user);
    await run(
      wrap(
        init.kind === 'initdb'
          ? {
              file: binaries.initdb,
              args: ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
            }
          : {
              file: join(binaries.dir, 'pg_basebackup'),
              // -R writes standby.signal and primary_conninfo: the copy starts as a streaming standby.
              args: ['-D', dataDir, '-d', init.sourceUrl, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
            },
      ),
      dir,
    );
  } catch (error) {
    remove();
    throw error;
  }
  const settings = { ...FAST_SETTINGS, ...options.settings };
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const launch = (): Promise<ChildProcess> =>
      launchServer({ binaries, wrap, dir, dataDir, socketDir, port, settings, startTimeoutMs });
    try {
      const child = await launch();
      return started(
        child,
        launch,
        `postgres://postgres@127.0.0.1:${port}/postgres`,
        binaries.dir,
        dataDir,
        remove,
        dir,
      );
    } catch (error) {
      if (attempt < 3 && error instanceof PortTakenError) continue;
      remove();
      throw error instanceof PortTakenError ? error.failure : error;
    }
  }
}

/** The port was taken between choosing it and binding it: try another. */
class PortTakenError extends Error {
  readonly failure: unknown;
  constructor(failure: unknown) {
    super('port taken');
    this.failure = failure;
  }
}

/** Starts `postgres` on an initialized data directory and resolves once it accepts connections. */
async function launchServer(options: {
  readonly binaries: { readonly postgres: string };
  readonly wrap: (command: Command) => Command;
  readonly dir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly port: number;
  readonly settings: Readonly<Record<string, string | number>>;
  readonly startTimeoutMs: number;
}): Promise<ChildProcess> {
  const { port, dataDir, socketDir } = options;
  const args = ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1'];
  for (const [name, value] of Object.entries(options.settings)) args.push('-c', `${name}=${value}`);
  const command = options.wrap({ file: options.binaries.postgres, args });
  const child = spawn(command.file, [...command.args], {
    cwd: options.dir,
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: a terminal's Ctrl-C goes to the host, whose shutdown may still use
    // the server; this process stops it (stop(), exit, or the watchdog), never the terminal.
    detached: true,
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitReady(url, child, () => output, options.startTimeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    if (/could not bind|already in use/i.test(output)) throw new PortTakenError(error);
    throw error;
  }
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  child.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  return child;
}

/** Sends `signal` to the postmaster and resolves once it has exited (SIGKILL after 10 s). */
async function stopServer(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function started(
  first: ChildProcess,
  launch: () => Promise<ChildProcess>,
  url: string,
  binDir: string,
  dataDir: string,
  remove: () => void,
  dir: string,
): LocalCluster {
  let child = first;
  let watchdog = startWatchdog(child.pid ?? -1, dir);
  const stopSync = (): void => {
    killGroup(watchdog);
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid ?? -1, 'SIGQUIT');
      } catch {
        // already gone
      }
      for (let i = 0; i < 50 && existsSync(join(dataDir, 'postmaster.pid')); i++) sleepSync(50);
    }
    remove();
  };
  const unregister = onProcessExit(stopSync);
  let stopping: Promise<void> | undefined;
  let restarting: Promise<void> | undefined;
  return {
    url,
    dir,
    binDir,
    dataDir,
    get pid() {
      return child.pid ?? -1;
    },
    restart(options = {}) {
      if (stopping !== undefined) return Promise.reject(new ConnectionError('the cluster was stopped'));
      restarting ??= (async () => {
        try {
          killGroup(watchdog);
          await stopServer(child, STOP_SIGNALS[options.mode ?? 'fast']);
          child = await launch();
          watchdog = startWatchdog(child.pid ?? -1, dir);
        } finally {
          restarting = undefined;
        }
      })();
      return restarting;
    },
    stop() {
      stopping ??= (async () => {
        await restarting?.catch(() => {});
        unregister();
        killGroup(watchdog);
        // Fast shutdown: disconnects clients, no checkpoint wait needed.
        await stopServer(child, 'SIGINT');
        remove();
      })();
      return stopping;
    },
  };
}
