import { z } from 'zod';
import type { Logger } from '../logging/logger.js';
import type { QueryListener } from '../telemetry/query-event.js';
import { type AnalyticsOptions, AnalyticsOptionsSchema } from './analytics-options.js';
import { type AuditOptions, AuditOptionsSchema } from './audit-options.js';
import { type ChatOptions, ChatOptionsSchema } from './chat-options.js';
import type { Clock } from './clock.js';
import {
  type EncryptionOptions,
  EncryptionOptionsSchema,
  type PseudonymOptions,
  PseudonymOptionsSchema,
} from './encryption-options.js';
import { type MigrationsOptions, MigrationsOptionsSchema } from './migrations-options.js';
import {
  type PoolerMode,
  PoolerModeSchema,
  type PoolOptions,
  PoolOptionsSchema,
  type SslOptions,
  SslOptionsSchema,
} from './pool-options.js';
import { type ReplicaReadsOptions, ReplicaReadsOptionsSchema } from './replica-options.js';
import type { Secret } from './secret.js';
import { type SessionsOptions, SessionsOptionsSchema } from './sessions-options.js';
import { QueryListenerSchema, type TelemetryOptions, TelemetryOptionsSchema } from './telemetry-options.js';
import { type UsersOptions, UsersOptionsSchema } from './users-options.js';

/** PostgreSQL identifiers carebase accepts as its schema name: lower-case, unquoted-safe. */
export const SchemaNameSchema = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier (letters, digits, underscore)');

/** A string, or a {@link Secret} wrapping one (what `configFromEnv` returns for sensitive values). */
const secretOrString = z.union([
  z.string().min(1),
  z.custom<Secret>(
    (value) => typeof value === 'object' && value !== null && typeof (value as Secret).reveal === 'function',
    'must be a string or a Secret',
  ),
]);

const loggerSchema = z.custom<Logger>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['debug', 'info', 'warn', 'error'].every(
      (level) => typeof (value as Record<string, unknown>)[level] === 'function',
    ),
  'must have debug, info, warn and error methods',
);

const clockSchema = z.custom<Clock>(
  (value) => typeof value === 'object' && value !== null && typeof (value as Clock).now === 'function',
  'must have a now() method returning a Date',
);

/**
 * Everything `createCarebase()` accepts. Every field is optional; `configFromEnv()` builds this
 * object from environment variables.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { createCarebase } from 'carebase';
 * import { CarebaseOptionsSchema } from 'carebase/schemas';
 * // Check a deployment's JSON settings at startup, reporting every problem at once.
 * const parsed = CarebaseOptionsSchema.safeParse(JSON.parse(readFileSync('carebase.json', 'utf8')));
 * if (!parsed.success) {
 *   for (const issue of parsed.error.issues) console.error(`${issue.path.join('.')}: ${issue.message}`);
 *   process.exit(78);
 * }
 * const cb = createCarebase(parsed.data);
 * ```
 */
export const CarebaseOptionsSchema = z.strictObject({
  /**
   * A `postgres://user:password@host:port/database?sslmode=...` URL. Explicit `host`, `port`,
   * `database`, `user`, `password` and `ssl` options override its parts.
   * (env `DATABASE_URL`)
   */
  connectionString: secretOrString.optional(),
  /** @default 'localhost' (env `DB_HOST`) */
  host: z.string().min(1).optional(),
  /** @default 5432 (env `DB_PORT`) */
  port: z.number().int().min(1).max(65_535).optional(),
  /** @default the user name (env `DB_NAME`) */
  database: z.string().min(1).optional(),
  /** @default 'postgres' (env `DB_USER`) */
  user: z.string().min(1).optional(),
  /** Never printed: kept in a `Secret` after resolution. (env `DB_PASSWORD`) */
  password: z.union([z.string(), secretOrString]).optional(),
  /** @default 'disable', or the URL's `sslmode` (env `DB_SSL`, `DB_SSL_CA`) */
  ssl: SslOptionsSchema.optional(),
  /** Pool sizing, timeouts and `application_name`. */
  pool: PoolOptionsSchema.optional(),
  /**
   * What sits between carebase and PostgreSQL. `'transaction'`: a transaction pooler (PgBouncer
   * in `pool_mode = transaction`, Supavisor, RDS Proxy), so carebase sends no startup parameters
   * (`statement_timeout` becomes `SET LOCAL` in each transaction), runs no named prepared
   * statements, keeps no session state and takes only transaction-scoped advisory locks with a
   * `lock_timeout`. Migrations then need `directUrl`.
   * @default 'none' (env `DB_POOLER`)
   */
  pooler: PoolerModeSchema.optional(),
  /**
   * A URL reaching the server directly (not through the pooler), used by `cb.migrate()`:
   * migrations hold session-level locks, which a transaction pooler cannot keep.
   * (env `DIRECT_DATABASE_URL`)
   */
  directUrl: secretOrString.optional(),
  /**
   * Read replicas (streaming standbys), as `postgres://` URLs; a part a URL leaves out (user,
   * password, database, `sslmode`) is the primary's. Reads that may be slightly stale (chat
   * history, search and exports, analytics summaries and time series, audit query, export and
   * verify) go to a replica in rotation, after waiting for the instance's own latest write to be
   * replayed there (see `replicaReads`); everything else stays on the primary.
   * (env `DATABASE_REPLICA_URLS`, comma-separated)
   */
  replicas: z.array(secretOrString).max(16).readonly().optional(),
  /** When replicas leave rotation and how long reads wait for their own writes. */
  replicaReads: ReplicaReadsOptionsSchema,
  /**
   * The PostgreSQL schema holding every carebase table.
   * @default 'carebase' (env `CAREBASE_SCHEMA`)
   */
  schema: SchemaNameSchema.optional(),
  /**
   * Where backups are written.
   * @default './backups' (env `BACKUP_DIR`)
   */
  backupDir: z.string().min(1).optional(),
  /** Receives carebase's logs. @default a silent logger */
  logger: loggerSchema.optional(),
  /** Source of "now" for expiry and lockout decisions. @default the system clock */
  clock: clockSchema.optional(),
  /** Password hashing, lockout and roles. */
  users: UsersOptionsSchema,
  /** Session idle and absolute timeouts. */
  sessions: SessionsOptionsSchema,
  /** Audit redaction and retention. */
  audit: AuditOptionsSchema,
  /** Chat limits. */
  chat: ChatOptionsSchema,
  /** Analytics limits. */
  analytics: AnalyticsOptionsSchema,
  /** Host migration sources that `cb.migrate()`, `cb.health()` and `carebase doctor` include. */
  migrations: MigrationsOptionsSchema.optional(),
  /** Called after every SQL statement with its text (placeholders only), duration and row count. */
  onQuery: QueryListenerSchema.optional(),
  /** OpenTelemetry spans and metrics. */
  telemetry: TelemetryOptionsSchema.optional(),
  /** Envelope encryption of chat content (docs/encryption.md). @default off */
  encryption: EncryptionOptionsSchema.optional(),
  /** The key of `cb.pseudonym()`. @default none (env `CAREBASE_PSEUDONYM_KEY`) */
  pseudonyms: PseudonymOptionsSchema.optional(),
  /**
   * Row-level security (docs/security.md): every transaction carebase opens for a call on a scope
   * with a user (`cb.withActor({ userId })`) sets `carebase.actor_user_id` to that user,
   * transaction-local (pooler-safe), and such calls always run in a transaction; the database's
   * policies (migration 0043, enabled by `grantAppRole({ rowSecurity: true })`) then show only
   * that user's chat and sessions. Off: no setting, no extra statement.
   * @default false (env `CAREBASE_RLS`)
   */
  rls: z.boolean().optional(),
});

/**
 * Options for `createCarebase()`. All optional; see each field for its default and environment
 * variable.
 *
 * @example
 * ```ts
 * import { type CarebaseOptions, configFromEnv, createCarebase, DEFAULT_REDACT_KEYS } from 'carebase';
 * const options: CarebaseOptions = {
 *   ...configFromEnv(),
 *   pool: { max: 10, statementTimeoutMs: 15_000 },
 *   sessions: { preset: 'strict' },
 *   audit: { redactKeys: [...DEFAULT_REDACT_KEYS, 'mrn'] },
 * };
 * const cb = createCarebase(options);
 * ```
 */
export interface CarebaseOptions {
  readonly connectionString?: string | Secret | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly database?: string | undefined;
  readonly user?: string | undefined;
  readonly password?: string | Secret | undefined;
  readonly ssl?: SslOptions | undefined;
  readonly pool?: PoolOptions | undefined;
  /**
   * What sits between carebase and PostgreSQL: `'transaction'` behind a transaction pooler
   * (PgBouncer `pool_mode = transaction`, Supavisor, RDS Proxy): unnamed statements only, settings
   * sent with every `begin`. @default 'none' (env `DB_POOLER`)
   */
  readonly pooler?: PoolerMode | undefined;
  /**
   * A URL reaching the server directly, for `cb.migrate()` and backups behind a transaction
   * pooler (env `DIRECT_DATABASE_URL`). Never printed.
   */
  readonly directUrl?: string | Secret | undefined;
  /** Read replicas' URLs (env `DATABASE_REPLICA_URLS`, comma-separated); see {@link CarebaseOptionsSchema}. */
  readonly replicas?: readonly (string | Secret)[] | undefined;
  /** Replica routing: `maxLagMs`, `readYourWritesTimeoutMs`, `checkIntervalMs`. */
  readonly replicaReads?: ReplicaReadsOptions | undefined;
  readonly schema?: string | undefined;
  readonly backupDir?: string | undefined;
  readonly logger?: Logger | undefined;
  readonly clock?: Clock | undefined;
  readonly users?: UsersOptions | undefined;
  readonly sessions?: SessionsOptions | undefined;
  readonly audit?: AuditOptions | undefined;
  readonly chat?: ChatOptions | undefined;
  readonly analytics?: AnalyticsOptions | undefined;
  readonly migrations?: MigrationsOptions | undefined;
  /**
   * Called after every SQL statement carebase runs on its pool, with the statement's text
   * (`$1` placeholders, never values), command, table, duration, row count and error code: for
   * hosts without OpenTelemetry. See docs/observability.md.
   */
  readonly onQuery?: QueryListener | undefined;
  /** OpenTelemetry spans and metrics (through `@opentelemetry/api` when installed). */
  readonly telemetry?: TelemetryOptions | undefined;
  /** Envelope encryption of chat content; off when absent. */
  readonly encryption?: EncryptionOptions | undefined;
  /** The key of `cb.pseudonym()` (env `CAREBASE_PSEUDONYM_KEY`). */
  readonly pseudonyms?: PseudonymOptions | undefined;
  /**
   * Row-level security (docs/security.md): every transaction carebase opens for a call on a scope
   * with a user (`cb.withActor({ userId })`) sets `carebase.actor_user_id` to that user,
   * transaction-local (pooler-safe), and such calls always run in a transaction; the database's
   * policies (migration 0043, enabled by `grantAppRole({ rowSecurity: true })`) then show only
   * that user's chat and sessions. Off: no setting, no extra statement.
   * @default false (env `CAREBASE_RLS`)
   */
  readonly rls?: boolean | undefined;
}
