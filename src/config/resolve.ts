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
import type { ResolvedEncryptionOptions, ResolvedPseudonymOptions } from './encryption-options.js';
import type { ResolvedMigrationsOptions } from './migrations-options.js';
import { type CarebaseOptions, CarebaseOptionsSchema } from './options.js';
import {
  POOL_DEFAULTS,
  type PoolerMode,
  type ResolvedPoolOptions,
  type ResolvedSslOptions,
  type SslMode,
} from './pool-options.js';
import type { ResolvedReplicaReadsOptions } from './replica-options.js';
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
  /** `'transaction'` when a transaction pooler sits in front of the server (see `pooler`). */
  readonly pooler: PoolerMode;
  /** The direct URL `cb.migrate()` uses, when given; never printed. */
  readonly directUrl: Secret | undefined;
  /** The read replicas, in the order given (empty without `replicas`). */
  readonly replicas: readonly ResolvedConnection[];
  /** How reads are routed to the replicas. */
  readonly replicaReads: ResolvedReplicaReadsOptions;
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
  /** Envelope encryption of chat content; `undefined` when off. */
  readonly encryption: ResolvedEncryptionOptions | undefined;
  /** The key of `cb.pseudonym()`; `undefined` when none was given. */
  readonly pseudonyms: ResolvedPseudonymOptions | undefined;
  /** Whether transactions carry `carebase.actor_user_id` for row-level security (see `rls`). */
  readonly rls: boolean;
}

type ParsedOptions = z.output<typeof CarebaseOptionsSchema>;

const URL_SSL_MODES: Record<string, SslMode> = {
  disable: 'disable',
  allow: 'disable',
  prefer: 'prefer',
  require: 'require',
  'no-verify': 'require',
  'verify-ca': 'verify-ca',
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
  /** The URL's `sslrootcert`, `sslcert` and `sslkey` (paths, as libpq takes them). */
  sslFiles?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined;
}

function parseUrl(connectionString: string): UrlParts {
  let parsed: ReturnType<typeof parseConnectionString>;
  let sslParam: string | null = null;
  let searchParams: URLSearchParams;
  try {
    const url = new URL(connectionString);
    searchParams = new URLSearchParams(url.searchParams);
    // TLS parameters are carebase's to interpret (libpq's meaning, in resolveSsl): pg-connection-string
    // would read the files itself (failing as "not a valid URL") and warn about its own sslmode aliases.
    const files = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'].filter((name) =>
      url.searchParams.has(name),
    );
    for (const name of files) url.searchParams.delete(name);
    parsed = parseConnectionString(files.length === 0 ? connectionString : url.toString());
    sslParam = searchParams.get('sslmode');
  } catch {
    throw new InvalidConfigurationError('connectionString', 'is not a valid postgres:// URL');
  }
  let sslMode: SslMode | undefined;
  if (sslParam !== null) {
    sslMode = URL_SSL_MODES[sslParam];
    if (sslMode === undefined) {
      throw new InvalidConfigurationError(
        'connectionString.sslmode',
        'unknown sslmode (use disable, prefer, require, verify-ca or verify-full)',
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
    sslFiles: {
      ca: searchParams.get('sslrootcert') ?? undefined,
      cert: searchParams.get('sslcert') ?? undefined,
      key: searchParams.get('sslkey') ?? undefined,
    },
  };
}

/** PEM text as given, or the contents of the file it names; `field` is named when unreadable. */
function pemOrFile(value: string | undefined, field: string): string | undefined {
  if (value === undefined || value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch {
    throw new InvalidConfigurationError(field, 'is neither PEM text nor a readable file');
  }
}

function resolveSsl(
  options: ParsedOptions,
  urlMode: SslMode | undefined,
  urlFiles: UrlParts['sslFiles'],
): ResolvedSslOptions {
  const ssl = options.ssl;
  const given = typeof ssl === 'object' ? ssl : undefined;
  let mode = typeof ssl === 'string' ? ssl : (ssl?.mode ?? urlMode ?? 'disable');
  const ca = pemOrFile(
    given?.ca ?? urlFiles?.ca,
    given?.ca === undefined ? 'connectionString.sslrootcert' : 'ssl.ca',
  );
  const cert = pemOrFile(
    given?.cert ?? urlFiles?.cert,
    given?.cert === undefined ? 'connectionString.sslcert' : 'ssl.cert',
  );
  const key = pemOrFile(
    given?.key ?? urlFiles?.key,
    given?.key === undefined ? 'connectionString.sslkey' : 'ssl.key',
  );
  if (ca !== undefined && (mode === 'disable' || mode === 'prefer')) {
    throw new InvalidConfigurationError(
      'ssl.ca',
      "a CA is only used with mode 'require', 'verify-ca' or 'verify-full'",
    );
  }
  // libpq: `require` with a root certificate behaves like `verify-ca`.
  if (ca !== undefined && mode === 'require') mode = 'verify-ca';
  if ((cert === undefined) !== (key === undefined)) {
    throw new InvalidConfigurationError(
      cert === undefined ? 'ssl.cert' : 'ssl.key',
      'a client certificate needs both cert and key',
    );
  }
  if (cert !== undefined && mode === 'disable') {
    throw new InvalidConfigurationError('ssl.cert', "a client certificate needs TLS (mode is 'disable')");
  }
  return { mode, ca, cert, key: key === undefined ? undefined : new Secret(key) };
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

function displayUrl(
  user: string,
  password: string | undefined,
  host: string,
  port: number,
  database: string,
) {
  return `postgres://${encodeURIComponent(user)}${password === undefined ? '' : ':***'}@${
    host.startsWith('/') ? encodeURIComponent(host) : host
  }:${port}/${encodeURIComponent(database)}`;
}

/**
 * A replica's connection: its URL's parts, and the primary's for the parts it leaves out (user,
 * password, database, TLS). Invalid URLs are named by position (`replicas.0`).
 */
function resolveReplica(
  value: string | Secret,
  index: number,
  primary: ResolvedConnection,
): ResolvedConnection {
  let url: UrlParts;
  try {
    url = parseUrl(reveal(value));
  } catch (error) {
    if (error instanceof InvalidConfigurationError) {
      throw new InvalidConfigurationError(`replicas.${index}`, error.message.replace(/^.*?: /, ''));
    }
    throw error;
  }
  // A URL without a user or database (postgres://replica:5433) parses them as empty: the primary's.
  const user = url.user === undefined || url.user === '' ? primary.user : url.user;
  const host = url.host === undefined || url.host === '' ? primary.host : url.host;
  const port = url.port ?? 5432;
  const database = url.database === undefined || url.database === '' ? primary.database : url.database;
  const password = url.password ?? primary.password?.reveal();
  const files = url.sslFiles;
  const ssl =
    url.sslMode === undefined && files?.ca === undefined && files?.cert === undefined
      ? primary.ssl
      : resolveSsl({ ssl: undefined } as ParsedOptions, url.sslMode, files);
  return deepFreeze({
    host,
    port,
    database,
    user,
    password: password === undefined ? undefined : new Secret(password),
    ssl,
    displayUrl: displayUrl(user, password, host, port, database),
  });
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
    ssl: resolveSsl(parsed, url.sslMode, url.sslFiles),
    displayUrl: displayUrl(user, password, host, port, database),
  };
  const replicas = (parsed.replicas ?? []).map((replica, index) =>
    resolveReplica(replica, index, connection),
  );
  const config: ResolvedConfig = {
    connection: deepFreeze(connection),
    pool: deepFreeze(resolvePool(parsed)),
    pooler: parsed.pooler ?? 'none',
    directUrl: parsed.directUrl === undefined ? undefined : new Secret(reveal(parsed.directUrl)),
    replicas: Object.freeze(replicas),
    replicaReads: deepFreeze(parsed.replicaReads),
    schema: parsed.schema ?? 'carebase',
    backupDir: parsed.backupDir ?? './backups',
    logger: parsed.logger ?? silentLogger,
    clock: parsed.clock ?? systemClock,
    users: deepFreeze(parsed.users),
    sessions: deepFreeze(parsed.sessions),
    audit: deepFreeze(parsed.audit),
    chat: deepFreeze(parsed.chat),
    analytics: deepFreeze({
      ...parsed.analytics,
      secretDataKeys: parsed.analytics.secretDataKeys ?? [...parsed.audit.redactKeys],
    }),
    // Frozen one level deep only: the sources are the host's own objects.
    migrations: Object.freeze({
      sources: Object.freeze([...(parsed.migrations?.sources ?? [])]),
      includeLibrary: parsed.migrations?.includeLibrary ?? true,
    }),
    onQuery: parsed.onQuery,
    telemetry: resolveTelemetry(parsed.telemetry),
    // The keyring is the host's object: frozen one level only.
    encryption: parsed.encryption === undefined ? undefined : Object.freeze({ ...parsed.encryption }),
    pseudonyms: parsed.pseudonyms === undefined ? undefined : Object.freeze({ ...parsed.pseudonyms }),
    rls: parsed.rls ?? false,
  };
  return Object.freeze(config);
}
