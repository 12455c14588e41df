import { z } from 'zod';
import type { Secret } from './secret.js';

const nonNegativeMs = z.number().int().nonnegative();

/**
 * Connection-pool options. Every field is optional; the defaults below apply.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ pool: { min: 2, max: 20, statementTimeoutMs: 10_000 } });
 * ```
 */
export const PoolOptionsSchema = z.strictObject({
  /**
   * Connections kept open when idle.
   * @default 2 (env `DB_POOL_MIN`)
   */
  min: z.number().int().nonnegative().optional(),
  /**
   * Most connections open at once.
   * @default 20 (env `DB_POOL_MAX`)
   */
  max: z.number().int().positive().max(10_000).optional(),
  /**
   * How long to wait for a connection (a free pooled one or a new one) before failing with
   * `PoolTimeoutError` or `ConnectionError`.
   * @default 5000 (env `DB_CONNECTION_TIMEOUT_MS`)
   */
  connectionTimeoutMs: nonNegativeMs.optional(),
  /**
   * Idle connections above `min` are closed after this long. 0 disables.
   * @default 10000 (env `DB_POOL_IDLE_TIMEOUT_MS`)
   */
  idleTimeoutMs: nonNegativeMs.optional(),
  /**
   * Connections are recycled after this age (rounded up to whole seconds). 0 disables.
   * @default 3600000 (1 h; env `DB_POOL_MAX_LIFETIME_MS`)
   */
  maxLifetimeMs: nonNegativeMs.optional(),
  /**
   * Server-side `statement_timeout` for every pooled connection. 0 disables. Migrations and
   * backups use their own connections without this limit.
   * @default 30000 (env `DB_STATEMENT_TIMEOUT_MS`)
   */
  statementTimeoutMs: nonNegativeMs.optional(),
  /**
   * `application_name` shown in `pg_stat_activity`.
   * @default 'carebase' (env `DB_APPLICATION_NAME`)
   */
  applicationName: z.string().min(1).max(63).optional(),
});

/**
 * Pool options as a host writes them (all optional).
 *
 * @example
 * ```ts
 * import { createCarebase, type PoolOptions } from 'carebase';
 * // A serverless function: few connections, closed soon after use.
 * const pool: PoolOptions = { min: 0, max: 2, idleTimeoutMs: 1_000 };
 * const cb = createCarebase({ pool });
 * ```
 */
export interface PoolOptions {
  /**
   * Connections kept open when idle.
   * @default 2 (env `DB_POOL_MIN`)
   */
  readonly min?: number | undefined;
  /**
   * Most connections open at once.
   * @default 20 (env `DB_POOL_MAX`)
   */
  readonly max?: number | undefined;
  /**
   * How long to wait for a connection (a free pooled one or a new one) before failing with
   * `PoolTimeoutError` or `ConnectionError`.
   * @default 5000 (env `DB_CONNECTION_TIMEOUT_MS`)
   */
  readonly connectionTimeoutMs?: number | undefined;
  /**
   * Idle connections above `min` are closed after this long. 0 disables.
   * @default 10000 (env `DB_POOL_IDLE_TIMEOUT_MS`)
   */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * Connections are recycled after this age (rounded up to whole seconds). 0 disables.
   * @default 3600000 (1 h; env `DB_POOL_MAX_LIFETIME_MS`)
   */
  readonly maxLifetimeMs?: number | undefined;
  /**
   * Server-side `statement_timeout` for every pooled connection. 0 disables. Migrations and
   * backups use their own connections without this limit.
   * @default 30000 (env `DB_STATEMENT_TIMEOUT_MS`)
   */
  readonly statementTimeoutMs?: number | undefined;
  /**
   * `application_name` shown in `pg_stat_activity`.
   * @default 'carebase' (env `DB_APPLICATION_NAME`)
   */
  readonly applicationName?: string | undefined;
}

/**
 * Pool options after defaults are applied.
 *
 * @example
 * ```ts
 * import type { ResolvedPoolOptions } from 'carebase';
 * const pool: ResolvedPoolOptions = cb.config.pool;
 * logger.info(
 *   { min: pool.min, max: pool.max, statementTimeoutMs: pool.statementTimeoutMs },
 *   'pool settings',
 * );
 * ```
 */
export interface ResolvedPoolOptions {
  readonly min: number;
  readonly max: number;
  readonly connectionTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly statementTimeoutMs: number;
  readonly applicationName: string;
}

/**
 * The documented pool defaults.
 *
 * @example
 * ```ts
 * import { createCarebase, POOL_DEFAULTS } from 'carebase';
 * // Twice the default pool for a busy API server; every other default unchanged.
 * const cb = createCarebase({ pool: { max: POOL_DEFAULTS.max * 2 } });
 * ```
 */
export const POOL_DEFAULTS: ResolvedPoolOptions = Object.freeze({
  min: 2,
  max: 20,
  connectionTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  maxLifetimeMs: 3_600_000,
  statementTimeoutMs: 30_000,
  applicationName: 'carebase',
});

/**
 * What sits between carebase and PostgreSQL: `'none'` (a direct connection, or a session pooler)
 * or `'transaction'` (a transaction pooler: PgBouncer `pool_mode = transaction`, Supavisor's
 * transaction port, RDS Proxy), where a connection's server backend changes between transactions.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * import { PoolerModeSchema } from 'carebase/schemas';
 * const pooler = PoolerModeSchema.parse(process.env.DB_POOLER ?? 'none');
 * const cb = createCarebase({ connectionString, pooler, directUrl: process.env.DIRECT_DATABASE_URL });
 * ```
 */
export const PoolerModeSchema = z.enum(['none', 'transaction']);

/**
 * `'none' | 'transaction'`: `'transaction'` when a transaction pooler (PgBouncer
 * `pool_mode = transaction`, Supavisor, RDS Proxy) sits between carebase and PostgreSQL.
 * Validated by `PoolerModeSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import { createCarebase, type PoolerMode } from 'carebase';
 * const pooler: PoolerMode = process.env.PGBOUNCER === '1' ? 'transaction' : 'none';
 * const cb = createCarebase({ connectionString, pooler });
 * ```
 */
export type PoolerMode = 'none' | 'transaction';

/**
 * SSL modes carebase understands, with libpq's meaning: `disable` (plain text), `prefer` (TLS
 * when the server offers it, else plain text, logged at `warn`), `require` (TLS, certificate not
 * checked; with a CA it checks the chain, as libpq does), `verify-ca` (TLS, chain checked against
 * the CA), `verify-full` (chain and host name checked).
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * import { SslModeSchema } from 'carebase/schemas';
 * // Throws a ZodError listing the allowed modes when the variable holds anything else.
 * const ssl = SslModeSchema.parse(process.env.REPORTS_DB_SSL ?? 'verify-full');
 * const cb = createCarebase({ connectionString, ssl });
 * ```
 */
export const SslModeSchema = z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']);

/**
 * An SSL mode name.
 *
 * @example
 * ```ts
 * import { createCarebase, type SslMode } from 'carebase';
 * const ssl: SslMode = process.env.NODE_ENV === 'production' ? 'verify-full' : 'disable';
 * const cb = createCarebase({ connectionString, ssl });
 * ```
 */
export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/**
 * SSL settings: a mode name, or an object with a CA bundle for `verify-full` against a managed
 * database whose certificate is signed by a private CA.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * import { SslOptionsSchema } from 'carebase/schemas';
 * // Validate the TLS settings an operator entered before saving them.
 * const result = SslOptionsSchema.safeParse({ mode: 'verify-full', ca: '/etc/ssl/certs/db-ca.pem' });
 * if (result.success) createCarebase({ connectionString, ssl: result.data });
 * ```
 */
export const SslOptionsSchema = z.union([
  SslModeSchema,
  z.strictObject({
    /** @default 'disable' (env `DB_SSL`) */
    mode: SslModeSchema,
    /** PEM text of the CA bundle, or a path to it (libpq `sslrootcert`). (env `DB_SSL_CA`) */
    ca: z.string().min(1).optional(),
    /** PEM text of a client certificate, or a path to it (libpq `sslcert`). Needs `key`. */
    cert: z.string().min(1).optional(),
    /** PEM text of the client certificate's private key, or a path to it (libpq `sslkey`). Never printed. */
    key: z.string().min(1).optional(),
  }),
]);

/**
 * SSL settings as a host writes them.
 *
 * @example
 * ```ts
 * import { createCarebase, type SslOptions } from 'carebase';
 * // A managed database whose certificate is signed by a private CA (PEM text or a path).
 * const ssl: SslOptions = { mode: 'verify-full', ca: '/etc/ssl/certs/rds-global-bundle.pem' };
 * const cb = createCarebase({ connectionString, ssl });
 * ```
 */
export type SslOptions =
  | SslMode
  | {
      /** How to use TLS: `disable`, `prefer`, `require`, `verify-ca` or `verify-full` (libpq's meaning). */
      readonly mode: SslMode;
      /** PEM text of the CA bundle, or a path to it (libpq `sslrootcert`). (env `DB_SSL_CA`) */
      readonly ca?: string | undefined;
      /** PEM text of a client certificate, or a path to it (libpq `sslcert`). Needs `key`. */
      readonly cert?: string | undefined;
      /** PEM text of the client certificate's private key, or a path to it (libpq `sslkey`). Never printed. */
      readonly key?: string | undefined;
    };

/**
 * SSL settings after resolution: the CA is loaded into memory.
 *
 * @example
 * ```ts
 * import type { ResolvedSslOptions } from 'carebase';
 * const { mode, ca }: ResolvedSslOptions = cb.config.connection.ssl;
 * if (process.env.NODE_ENV === 'production' && mode !== 'verify-full')
 *   throw new Error('TLS must verify the server');
 * console.log(`TLS ${mode}${ca === undefined ? '' : ' with a private CA'}`);
 * ```
 */
export interface ResolvedSslOptions {
  readonly mode: SslMode;
  /** The CA bundle (PEM), from `ca` or the URL's `sslrootcert`. */
  readonly ca: string | undefined;
  /** The client certificate (PEM), from `cert` or the URL's `sslcert`. */
  readonly cert: string | undefined;
  /** The client key (PEM), from `key` or the URL's `sslkey`; a `Secret`, never printed. */
  readonly key: Secret | undefined;
}
