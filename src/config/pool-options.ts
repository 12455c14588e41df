import { z } from 'zod';

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
 * SSL modes carebase understands. `verify-full` checks the certificate chain and host name.
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
export const SslModeSchema = z.enum(['disable', 'require', 'verify-full']);

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
export type SslMode = 'disable' | 'require' | 'verify-full';

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
    /** PEM text of the CA bundle, or a path to it. (env `DB_SSL_CA`) */
    ca: z.string().min(1).optional(),
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
      /** How to use TLS: `disable`, `require` (encrypted, unverified) or `verify-full`. */
      readonly mode: SslMode;
      /** The CA that signed the server's certificate: PEM text or a file path (`verify-full` only). */
      readonly ca?: string | undefined;
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
  readonly ca: string | undefined;
}
