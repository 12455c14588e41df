import pg from 'pg';
import type { CarebaseOptions } from '../config/options.js';
import type { ResolvedSslOptions } from '../config/pool-options.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve.js';
import { DriverErrorSummary } from '../errors/map-error.js';
import { carebaseClientClass } from './carebase-client.js';

/**
 * `pg.Pool` settings derived from a resolved configuration. Exposed for adapters and tests.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { configFromEnv, createCarebase, poolConfigFrom, resolveConfig } from 'carebase';
 * // A host-owned pool with carebase's settings (SSL, timeouts, application_name), a little larger.
 * const options = configFromEnv();
 * const pool = new pg.Pool({ ...poolConfigFrom(resolveConfig(options)), max: 30 });
 * const cb = createCarebase(options, { pool });
 * ```
 */
export function poolConfigFrom(config: ResolvedConfig): pg.PoolConfig {
  const { connection, pool } = config;
  const password = connection.password;
  const ssl = tlsSettingsFrom(connection.ssl);
  const settings: pg.PoolConfig = {
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
    ssl,
    min: pool.min,
    max: pool.max,
    connectionTimeoutMillis: pool.connectionTimeoutMs,
    idleTimeoutMillis: pool.idleTimeoutMs,
    maxLifetimeSeconds: Math.ceil(pool.maxLifetimeMs / 1000),
    application_name: pool.applicationName,
    // Watched from construction: an `error` listener for the client's whole life, and failed
    // connection attempts marked with how far they got (for `ConnectionError.reason`).
    Client: carebaseClientClass(config.logger, {
      preferTls: connection.ssl.mode === 'prefer',
    }) as unknown as NonNullable<pg.PoolConfig['Client']>,
  };
  // A function, not the string: pg calls it per connection and never prints it.
  if (password !== undefined) settings.password = () => password.reveal();
  // Behind a transaction pooler no startup parameter may be sent (PgBouncer refuses the
  // connection): the timeout is set per transaction instead (`transactionSettingsFrom`).
  if (pool.statementTimeoutMs > 0 && config.pooler !== 'transaction') {
    settings.statement_timeout = pool.statementTimeoutMs;
  }
  return settings;
}

/**
 * Node TLS options for `ssl` with libpq's meaning of each mode: `prefer` and `require` encrypt
 * without checking the certificate, `verify-ca` checks the chain but not the host name,
 * `verify-full` both. A client key is non-enumerable, so printing the options never shows it.
 */
export function tlsSettingsFrom(ssl: ResolvedSslOptions): pg.PoolConfig['ssl'] {
  if (ssl.mode === 'disable') return false;
  const settings: Record<string, unknown> =
    ssl.mode === 'prefer' || ssl.mode === 'require'
      ? { rejectUnauthorized: false }
      : { rejectUnauthorized: true };
  if (ssl.ca !== undefined && ssl.mode !== 'prefer') settings.ca = ssl.ca;
  // verify-ca: the chain is checked, the host name is not (libpq's meaning).
  if (ssl.mode === 'verify-ca') settings.checkServerIdentity = () => undefined;
  if (ssl.cert !== undefined) settings.cert = ssl.cert;
  if (ssl.key !== undefined) {
    Object.defineProperty(settings, 'key', { value: ssl.key.reveal(), enumerable: false });
  }
  return settings as pg.PoolConfig['ssl'];
}

/**
 * What carebase sends with every `begin` of its pool's connections: behind a transaction pooler,
 * the pool's `statement_timeout` as `set local` (the startup parameter is not allowed there);
 * nothing otherwise.
 */
export function transactionSettingsFrom(config: ResolvedConfig): string {
  const timeout = config.pool.statementTimeoutMs;
  return config.pooler === 'transaction' && timeout > 0 ? `set local statement_timeout = ${timeout}` : '';
}

/**
 * Creates a `pg.Pool` from carebase options (or a resolved configuration): min/max sizing,
 * connection and idle timeouts, connection recycling (`maxLifetimeMs`), a per-connection
 * `statement_timeout`, `application_name` and TLS (`disable | prefer | require | verify-ca |
 * verify-full`, with a CA and a client certificate).
 *
 * The password is handed to pg as a function, so it appears in no printed form of the pool.
 * Every client has an `error` listener for its whole life (opening, idle, checked out). Errors of
 * idle connections (a restarted server, a terminated backend) are logged at `warn` and the
 * connection is dropped; they never crash the process.
 *
 * Throws `InvalidConfigurationError` for invalid options.
 *
 * @example
 * ```ts
 * import { createPool } from 'carebase';
 * const pool = createPool({ connectionString: process.env.DATABASE_URL, pool: { max: 5 } });
 * const { rows } = await pool.query('select 1 as one');
 * await pool.end();
 * ```
 */
export function createPool(options: CarebaseOptions | ResolvedConfig = {}): pg.Pool {
  const config = isResolved(options) ? options : resolveConfig(options);
  const pool = new pg.Pool(poolConfigFrom(config));
  pool.on('error', (error) => {
    config.logger.warn(
      { err: error instanceof Error ? new DriverErrorSummary(error) : undefined },
      'carebase: an idle pooled connection failed and was removed',
    );
  });
  return pool;
}

function isResolved(options: CarebaseOptions | ResolvedConfig): options is ResolvedConfig {
  return typeof (options as ResolvedConfig).connection === 'object' && Object.isFrozen(options);
}
