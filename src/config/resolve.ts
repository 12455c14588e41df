import { readFileSync } from 'node:fs';
import { parse as parseConnectionString } from 'pg-connection-string';
import type { z } from 'zod';
import { InvalidConfigurationError } from '../errors/errors.js';
import { type Logger, silentLogger } from '../logging/logger.js';
import type { QueryListener } from '../telemetry/query-event.js';
import type { ResolvedAnalyticsOptions } from './analytics-options.js';
import type { ResolvedAuditOptions } from './audit-options.js';
import type { ResolvedChatOptions } from './chat-options.js';
import { type Clock, systemClock } from './clock.js';
import type { ResolvedMigrationsOptions } from './migrations-options.js';
import { type CarebaseOptions, CarebaseOptionsSchema } from './options.js';
import {
  POOL_DEFAULTS,
  type ResolvedPoolOptions,
  type ResolvedSslOptions,
  type SslMode,
} from './pool-options.js';
import { Secret } from './secret.js';
import type { ResolvedSessionsOptions } from './sessions-options.js';
import { type ResolvedTelemetryOptions, resolveTelemetry } from './telemetry-options.js';
import type { ResolvedUsersOptions } from './users-options.js';

/**
 * Where and how to connect, with the password held in a {@link Secret}.
 *
 * @example
 * ```ts
 * import type { ResolvedConnection } from 'carebase';
 * const connection: ResolvedConnection = cb.config.connection;
 * // displayUrl masks the password: safe for startup logs.
 * logger.info({ db: connection.displayUrl, ssl: connection.ssl.mode }, 'connecting');
 * ```
 */
export interface ResolvedConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: Secret | undefined;
  readonly ssl: ResolvedSslOptions;
  /** `postgres://user:***@host:port/database`: safe to print. */
  readonly displayUrl: string;
}

/**
 * The complete, frozen configuration a carebase instance runs with.
 *
 * @example
 * ```ts
 * import type { ResolvedConfig } from 'carebase';
 * const config: ResolvedConfig = cb.config; // frozen; printing it never shows the password
 * logger.info(
 *   { schema: config.schema, backupDir: config.backupDir, poolMax: config.pool.max },
 *   'carebase ready',
 * );
 * ```
 */
export interface ResolvedConfig {
  readonly connection: ResolvedConnection;
  readonly pool: ResolvedPoolOptions;
  readonly schema: string;
  readonly backupDir: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly users: ResolvedUsersOptions;
  readonly sessions: ResolvedSessionsOptions;
  readonly audit: ResolvedAuditOptions;
  readonly chat: ResolvedChatOptions;
  readonly analytics: ResolvedAnalyticsOptions;
  readonly migrations: ResolvedMigrationsOptions;
  /** The `onQuery` hook, if any. */
  readonly onQuery: QueryListener | undefined;
  readonly telemetry: ResolvedTelemetryOptions;
}

type ParsedOptions = z.output<typeof CarebaseOptionsSchema>;

const URL_SSL_MODES: Record<string, SslMode> = {
  disable: 'disable',
  allow: 'disable',
  prefer: 'disable',
  require: 'require',
  'no-verify': 'require',
  'verify-ca': 'verify-full',
  'verify-full': 'verify-full',
};

/** Freezes plain data deeply; leaves class instances (the host's logger, clock, Secret) alone. */
function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || (typeof value === 'object' && value !== null && isPlain(value))) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

function reveal(value: string | Secret): string {
  return typeof value === 'string' ? value : value.reveal();
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function parseOptions(options: CarebaseOptions): ParsedOptions {
  const result = CarebaseOptionsSchema.safeParse(options);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = (issue?.path ?? []).map(String);
  // An unknown option (a typo such as `poool`) is named itself, not its parent object.
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const field = path.length === 0 ? 'options' : path.join('.');
  throw new InvalidConfigurationError(
    field,
    issue?.code === 'unrecognized_keys' ? 'is not a known option' : (issue?.message ?? 'invalid value'),
  );
}

interface UrlParts {
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  sslMode?: SslMode | undefined;
}

function parseUrl(connectionString: string): UrlParts {
  let parsed: ReturnType<typeof parseConnectionString>;
  let sslParam: string | null = null;
  try {
    parsed = parseConnectionString(connectionString);
    sslParam = new URL(connectionString).searchParams.get('sslmode');
  } catch {
    throw new InvalidConfigurationError('connectionString', 'is not a valid postgres:// URL');
  }
  let sslMode: SslMode | undefined;
  if (sslParam !== null) {
    sslMode = URL_SSL_MODES[sslParam];
    if (sslMode === undefined) {
      throw new InvalidConfigurationError(
        'connectionString.sslmode',
        'unknown sslmode (use disable, require or verify-full)',
      );
    }
  }
  let port: number | undefined;
  if (parsed.port !== undefined && parsed.port !== null && parsed.port !== '') {
    port = Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new InvalidConfigurationError('connectionString.port', 'must be an integer from 1 to 65535');
    }
  }
  return {
    host: parsed.host ?? undefined,
    port,
    database: parsed.database ?? undefined,
    user: parsed.user ?? undefined,
    // A URL without a password (postgres://user@host/db) parses as an empty one: there is none.
    password: parsed.password === '' ? undefined : (parsed.password ?? undefined),
    sslMode,
  };
}

function resolveSsl(options: ParsedOptions, urlMode: SslMode | undefined): ResolvedSslOptions {
  const ssl = options.ssl;
  const mode = typeof ssl === 'string' ? ssl : (ssl?.mode ?? urlMode ?? 'disable');
  let ca = typeof ssl === 'object' ? ssl.ca : undefined;
  if (ca !== undefined && !ca.includes('-----BEGIN')) {
    try {
      ca = readFileSync(ca, 'utf8');
    } catch {
      throw new InvalidConfigurationError('ssl.ca', 'is neither PEM text nor a readable file');
    }
  }
  if (ca !== undefined && mode !== 'verify-full') {
    throw new InvalidConfigurationError('ssl.ca', "a CA is only used with mode 'verify-full'");
  }
  return { mode, ca };
}

function resolvePool(options: ParsedOptions): ResolvedPoolOptions {
  const given = options.pool ?? {};
  const pool = { ...POOL_DEFAULTS };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) Object.assign(pool, { [key]: value });
  }
  // A small `max` alone lowers the default `min` with it; an explicit conflicting pair is an error.
  if (given.min === undefined && pool.max < pool.min) pool.min = pool.max;
  if (pool.max < pool.min) {
    throw new InvalidConfigurationError('pool.max', `must be at least pool.min (${pool.min})`);
  }
  return pool;
}

/**
 * Validates `options`, applies every default and returns a deeply frozen configuration.
 * Throws {@link InvalidConfigurationError} naming the first bad field; never includes the
 * password in the error or in any printed form of the result.
 *
 * @example
 * ```ts
 * import { configFromEnv, resolveConfig } from 'carebase';
 * // A `--check-config` flag: validate the deployment's settings without connecting.
 * const config = resolveConfig(configFromEnv()); // throws InvalidConfigurationError naming the bad field
 * console.log(
 *   `${config.connection.displayUrl} (schema ${config.schema}, pool ${config.pool.min}-${config.pool.max})`,
 * );
 * ```
 */
export function resolveConfig(options: CarebaseOptions = {}): ResolvedConfig {
  const parsed = parseOptions(options);
  const url = parsed.connectionString === undefined ? {} : parseUrl(reveal(parsed.connectionString));
  const user = parsed.user ?? url.user ?? 'postgres';
  const host = parsed.host ?? url.host ?? 'localhost';
  const port = parsed.port ?? url.port ?? 5432;
  const database = parsed.database ?? url.database ?? user;
  const password = parsed.password === undefined ? url.password : reveal(parsed.password);
  const connection: ResolvedConnection = {
    host,
    port,
    database,
    user,
    password: password === undefined ? undefined : new Secret(password),
    ssl: resolveSsl(parsed, url.sslMode),
    displayUrl: `postgres://${encodeURIComponent(user)}${password === undefined ? '' : ':***'}@${
      host.startsWith('/') ? encodeURIComponent(host) : host
    }:${port}/${encodeURIComponent(database)}`,
  };
  const config: ResolvedConfig = {
    connection: deepFreeze(connection),
    pool: deepFreeze(resolvePool(parsed)),
    schema: parsed.schema ?? 'carebase',
    backupDir: parsed.backupDir ?? './backups',
    logger: parsed.logger ?? silentLogger,
    clock: parsed.clock ?? systemClock,
    users: deepFreeze(parsed.users),
    sessions: deepFreeze(parsed.sessions),
    audit: deepFreeze(parsed.audit),
    chat: deepFreeze(parsed.chat),
    analytics: deepFreeze(parsed.analytics),
    // Frozen one level deep only: the sources are the host's own objects.
    migrations: Object.freeze({
      sources: Object.freeze([...(parsed.migrations?.sources ?? [])]),
      includeLibrary: parsed.migrations?.includeLibrary ?? true,
    }),
    onQuery: parsed.onQuery,
    telemetry: resolveTelemetry(parsed.telemetry),
  };
  return Object.freeze(config);
}
