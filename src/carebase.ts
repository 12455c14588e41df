import type { Kysely, Transaction } from 'kysely';
import type pg from 'pg';
import { BackupsApi } from './backup/backups-api.js';
import type { CarebaseOptions } from './config/options.js';
import { type ResolvedConfig, resolveConfig } from './config/resolve.js';
import { ClosedError, InvalidConfigurationError, isCarebaseError, MigrationError } from './errors/errors.js';
import { DriverErrorSummary } from './errors/map-error.js';
import { type MigrateResult, migrate } from './migration/runner.js';
import { withLibrary } from './migration/sources.js';
import { countPendingMigrations } from './migration/status.js';
import type { MigrationSource } from './migration/types.js';
import { createPool, transactionSettingsFrom } from './pool/create-pool.js';
import { drainPool } from './pool/drain.js';
import { checkHealth, type HealthReport } from './pool/health.js';
import { CarebaseKyselyPool } from './pool/kysely-pool.js';
import { parseLsn } from './pool/lsn.js';
import { poolKysely } from './pool/pool-kysely.js';
import { PreparedStatements } from './pool/prepared-statements.js';
import { ReplicaSet } from './pool/replica-set.js';
import { runTransaction, type TransactionOptions } from './pool/transaction.js';
import { AnalyticsRepository } from './repositories/analytics/analytics-repository.js';
import { AuditRepository } from './repositories/audit/audit-repository.js';
import { ChatRepository } from './repositories/chat/chat-repository.js';
import { EncryptionApi } from './repositories/chat-encryption/encryption-api.js';
import { type ActorInput, ActorSchema, CarebaseRuntime, RepositoryContext } from './repositories/context.js';
import { ImportsRepository } from './repositories/imports/imports-repository.js';
import { PartitionedTable } from './repositories/partitioned-tables/partitioned-table.js';
import {
  type PartitionedTableOptions,
  PartitionedTableOptionsSchema,
} from './repositories/partitioned-tables/partitioned-table-options.js';
import { withRowSecurity } from './repositories/row-security.js';
import { SessionsRepository } from './repositories/sessions/sessions-repository.js';
import { UsersRepository } from './repositories/users/users-repository.js';
import type { CarebaseDatabase } from './schema/database.js';
import { computePseudonym } from './security/pseudonym.js';
import { quoteIdentifier } from './sql/identifier.js';
import { instrument } from './telemetry/instrument.js';
import { Telemetry } from './telemetry/telemetry.js';
import { parseInput } from './validation/parse-input.js';
import { PseudonymInputSchema } from './validation/pseudonym-input.js';

/** undefined_table, invalid_schema_name: a database never migrated (no tracking table). */
const MISSING_RELATION = new Set(['42P01', '3F000']);
const VERSION_SQL = "select current_setting('server_version') as version";
/** The primary's WAL insert position: past every record of every finished write. */
const PRIMARY_LSN_SQL = 'select pg_current_wal_insert_lsn()::text as lsn';

/** `health()`'s one statement: server version and the applied migrations of the given namespaces. */
function healthProbeSql(schema: string): string {
  return `select current_setting('server_version') as version, array(select namespace || '/' || name
  from ${quoteIdentifier(schema)}.schema_migrations where namespace = any($1::text[])) as applied`;
}
/** The pseudonym key's bytes, decoded once per base64 text. */
const pseudonymKeys = new Map<string, Buffer>();
function pseudonymKey(base64: string): Buffer {
  let key = pseudonymKeys.get(base64);
  if (key === undefined) {
    key = Buffer.from(base64, 'base64');
    if (pseudonymKeys.size > 16) pseudonymKeys.clear();
    pseudonymKeys.set(base64, key);
  }
  return key;
}

/**
 * A view of carebase bound to one executor (the pool, or a transaction) and one actor. `cb`
 * itself, the `tx` inside `cb.transaction()`, and the result of `cb.withActor()` are all scopes.
 *
 * @example
 * ```ts
 * import type { CarebaseScope } from 'carebase';
 * // Take a scope, so one helper runs on cb, inside cb.transaction(), or on cb.withActor(...).
 * async function startConversation(scope: CarebaseScope, userId: string) {
 *   const conversation = await scope.chat.createConversation({ userId, title: 'New chat' });
 *   await scope.chat.append({
 *     userId,
 *     conversationId: conversation.id,
 *     role: 'assistant',
 *     content: 'How can I help?',
 *   });
 *   return conversation;
 * }
 * const conversation = await cb
 *   .withActor({ userId, ip: req.ip })
 *   .transaction((tx) => startConversation(tx, userId));
 * ```
 */
export class CarebaseScope {
  readonly #context: RepositoryContext;

  /** @internal */
  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  /** @internal The context repositories are built on. */
  get context(): RepositoryContext {
    return this.#context;
  }

  /**
   * The typed escape hatch: a `Kysely<CarebaseDatabase>` scoped to the carebase schema (inside
   * `transaction()`, the transaction itself).
   */
  get db(): Kysely<CarebaseDatabase> {
    return this.#context.db;
  }

  /**
   * Runs `fn` in a transaction and returns its result. Repository calls on `tx` join the
   * transaction; if `fn` throws, everything it wrote is rolled back. Serialization failures and
   * deadlocks re-run `fn` (up to `retries`, default 3) with jittered backoff, so `fn` must be safe
   * to re-run. Called on a scope that is already a transaction, `fn` runs in a savepoint.
   *
   * Throws whatever `fn` throws, or a carebase error for database failures.
   *
   * @example
   * ```ts
   * await cb.transaction(
   *   async (tx) => {
   *     const user = await tx.users.create({ username: 'ana', email: 'ana@example.org', password, role: 'nurse' });
   *     await tx.chat.append({ userId: user.id, role: 'assistant', content: 'Welcome, Ana.' });
   *   },
   *   { isolation: 'serializable' },
   * );
   * ```
   */
  transaction<T>(fn: (tx: CarebaseScope) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const context = this.#context;
    return context.runtime.telemetry.operation('transaction', () =>
      runTransaction(
        context.db,
        (trx: Transaction<CarebaseDatabase>) =>
          fn(new CarebaseScope(new RepositoryContext(context.runtime, trx, context.actor))),
        options,
        context.config.logger,
        context.rlsUserId,
      ),
    );
  }

  /** `repository` with each public method traced as the operation `<area>.<method>`. */
  #instrument<T extends object>(repository: T, area: string): T {
    return instrument(repository, area, this.#context.runtime.telemetry);
  }

  #users: UsersRepository | undefined;
  #sessions: SessionsRepository | undefined;

  /**
   * User accounts: create, find, list, authenticate with lockout, roles, password changes,
   * data-subject export and erasure. Writes are audited on this scope's executor and actor.
   *
   * @example
   * ```ts
   * const result = await cb.users.authenticate({ login, password, ip: req.ip });
   * ```
   */
  get users(): UsersRepository {
    this.#users ??= this.#instrument(
      withRowSecurity(this.#context, (ctx) => new UsersRepository(ctx)),
      'users',
    );
    return this.#users;
  }

  /**
   * Login sessions: hashed 256-bit tokens, idle and absolute timeouts, revocation.
   *
   * @example
   * ```ts
   * const found = await cb.sessions.validate(req.cookies.sid);
   * ```
   */
  get sessions(): SessionsRepository {
    this.#sessions ??= this.#instrument(
      withRowSecurity(this.#context, (ctx) => new SessionsRepository(ctx)),
      'sessions',
    );
    return this.#sessions;
  }

  #audit: AuditRepository | undefined;

  /**
   * The audit log of this scope: entries written through it are attributed to the scope's actor
   * (`withActor`) and, inside `transaction()`, commit or roll back with the transaction.
   *
   * @example
   * ```ts
   * await cb.withActor({ userId, ip }).audit.log({ action: 'chart.view', resourceType: 'chart', resourceId });
   * ```
   */
  get audit(): AuditRepository {
    this.#audit ??= this.#instrument(new AuditRepository(this.#context), 'audit');
    return this.#audit;
  }

  #chat: ChatRepository | undefined;

  /**
   * Chat history: conversations, append, keyset history, full-text search, streamed export and
   * the legacy JSON import. Calls made on `tx.chat` join the transaction.
   *
   * @example
   * ```ts
   * await cb.chat.append({ userId, role: 'user', content: 'Hello' });
   * const { items } = await cb.chat.history({ userId, limit: 20 });
   * ```
   */
  get chat(): ChatRepository {
    this.#chat ??= this.#instrument(
      withRowSecurity(this.#context, (ctx) => new ChatRepository(ctx)),
      'chat',
    );
    return this.#chat;
  }

  #encryption: EncryptionApi | undefined;

  /**
   * Maintenance of envelope encryption of chat content: `encryptExisting()` (docs/encryption.md).
   *
   * @example
   * ```ts
   * await cb.encryption.encryptExisting({ onProgress: (p) => console.log(p.table, p.encrypted) });
   * ```
   */
  get encryption(): EncryptionApi {
    this.#encryption ??= new EncryptionApi(this.#context);
    return this.#encryption;
  }

  /**
   * A keyed pseudonym of `value` for `purpose`: `ps1_` + base64url(HMAC-SHA256(key, purpose,
   * value)), 47 characters. Stable (same key, purpose and value give the same pseudonym, across
   * processes and restarts), different per purpose (a member id pseudonymized for `audit` does
   * not match the same id pseudonymized for `analytics`), and not reversible without the key, not
   * even by enumerating every possible member id or MRN (which a plain SHA-256 is: see
   * docs/encryption.md). Usable as an audit `subjectId`. The value is used exactly as given
   * (normalize case and spaces first if your ids vary). Synchronous, no SQL.
   *
   * Throws `ValidationError` for an empty or over-long value, lone surrogates, or a purpose outside
   * `[a-z0-9][a-z0-9._:-]{0,99}`; `InvalidConfigurationError` (`pseudonyms.key`) when no key is
   * configured.
   *
   * @example
   * ```ts
   * const subjectId = cb.pseudonym('MRN-0042-7731', { purpose: 'audit.subject' });
   * await cb.audit.log({ action: 'hedis.measure_read', resourceType: 'member', subjectId });
   * ```
   */
  pseudonym(value: string, options: { readonly purpose: string }): string {
    const parsed = parseInput(PseudonymInputSchema, { value, purpose: options?.purpose }, 'pseudonym input');
    const key = this.#context.config.pseudonyms?.key;
    if (key === undefined) {
      throw new InvalidConfigurationError('pseudonyms.key', 'is not configured (env CAREBASE_PSEUDONYM_KEY)');
    }
    return computePseudonym(pseudonymKey(key.reveal()), parsed.value, parsed.purpose);
  }

  #imports: ImportsRepository | undefined;

  /**
   * Batch imports from another system (users with their password hashes, conversations, messages,
   * audit entries) that keep original ids, timestamps and authors, are idempotent on rerun, and
   * return a reconciliation report. Calls made on `tx.imports` join the transaction.
   *
   * @example
   * ```ts
   * const report = await cb.imports.users({ source: 'mongo', users: [] });
   * console.log(report.read, report.inserted, report.alreadyPresent, report.refused.length);
   * ```
   */
  get imports(): ImportsRepository {
    this.#imports ??= this.#instrument(new ImportsRepository(this.#context), 'imports');
    return this.#imports;
  }

  #analytics: AnalyticsRepository | undefined;
  /**
   * Analytics events: `track`, `trackMany`, `buffer`, exact `summary` / `timeseries` /
   * `activeUsers` / `topEvents` served from rollups, `refreshRollups` and `applyRetention`.
   * Memoized per scope; inside `cb.transaction()` writes join the transaction. With `rls: true`
   * it reads and writes every user's events (its transactions set the analytics scope, migration
   * 0047), whatever the scope's user.
   *
   * @example
   * ```ts
   * await cb.analytics.track({ userId, eventType: 'feature', eventName: 'chat.message_sent' });
   * ```
   */
  get analytics(): AnalyticsRepository {
    this.#analytics ??= this.#instrument(
      new AnalyticsRepository(this.#context.asSystem('analytics')),
      'analytics',
    );
    return this.#analytics;
  }

  /**
   * Monthly partitions and retention for a host table (e.g. an `api_logs` table), like carebase's
   * own logs: `register()` as the owner once, then `ensurePartitions()` and `applyRetention()` as
   * the app role, through the owner's SECURITY DEFINER functions.
   *
   * Throws `ValidationError` for bad options (before any SQL). Inside `cb.transaction()` its calls
   * join the transaction.
   *
   * @example
   * ```ts
   * const apiLogs = cb.partitionedTable({
   *   schema: 'hedis', table: 'api_logs', column: 'created_at', interval: 'month', retentionMonths: 84, ahead: 3,
   * });
   * await apiLogs.ensurePartitions();
   * ```
   */
  partitionedTable(options: PartitionedTableOptions): PartitionedTable {
    const parsed = parseInput(PartitionedTableOptionsSchema, options, 'partitionedTable options');
    return this.#instrument(
      new PartitionedTable(this.#context, {
        schema: parsed.schema ?? 'public',
        table: parsed.table,
        column: parsed.column,
        retentionMonths: parsed.retentionMonths,
        ahead: parsed.ahead ?? 2,
      }),
      'partitionedTable',
    );
  }

  /**
   * Returns a scope whose writes are attributed to `actor` in the audit log. Cheap: call it per
   * request. Every audited repository write made through the returned scope (`scoped.users`,
   * `scoped.sessions`, `scoped.chat`, `scoped.audit.log`, and the same inside
   * `scoped.transaction(tx => ...)`) records its audit entry with `actor.userId`, `ip`,
   * `userAgent` and `requestId`, in the same transaction as the write: if the write rolls back, so
   * does its entry. `type` defaults to `user` when `userId` is set, `system` otherwise. See
   * docs/audit.md for which operations emit which actions.
   *
   * Throws `ValidationError` for a malformed actor (e.g. an invalid IP).
   *
   * @example
   * ```ts
   * const scoped = cb.withActor({ userId: user.id, ip: req.ip, userAgent: req.get('user-agent') });
   * ```
   */
  withActor(actor: ActorInput): CarebaseScope {
    const parsed = parseInput(ActorSchema, actor, 'actor');
    return new CarebaseScope(this.#context.withActor(parsed));
  }
}

/**
 * A carebase instance: a scope plus the pool, migrations, health and shutdown.
 *
 * @example
 * ```ts
 * import { type Carebase, createCarebase } from 'carebase';
 * // One instance per process, shared by every request; `await using` closes it when the scope ends.
 * await using cb: Carebase = createCarebase({ connectionString });
 * await cb.migrate();
 * console.log(cb.config.connection.displayUrl, (await cb.health()).ok);
 * ```
 */
export class Carebase extends CarebaseScope implements AsyncDisposable {
  readonly #runtime: CarebaseRuntime;
  readonly #kyselyPool: CarebaseKyselyPool;
  readonly #detach: () => void;
  #closing: Promise<void> | undefined;

  /** @internal Use {@link createCarebase}. */
  constructor(runtime: CarebaseRuntime, detach: () => void = () => {}) {
    super(new RepositoryContext(runtime, runtime.db, undefined));
    this.#runtime = runtime;
    this.#kyselyPool = runtime.connections;
    this.#detach = detach;
  }

  /** The underlying `pg.Pool` (shared with `db`). Ended by `close()` when carebase created it. */
  get pool(): pg.Pool {
    return this.#runtime.pool;
  }

  /** The resolved, frozen configuration. Printing it never shows the password. */
  get config(): ResolvedConfig {
    return this.#runtime.config;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined || this.#kyselyPool.closed;
  }

  /**
   * Applies carebase's pending migrations and then the host's: `options.sources`, or else the
   * instance's `migrations.sources`, after carebase's own (unless `includeLibrary` is false), to
   * the configured schema. Safe to call at every boot of every replica: concurrent callers wait
   * for one another and each migration is applied once. Statements wait at most
   * `tableLockTimeoutMs` (5 s) for table locks, with retries (see `migrate` in
   * `carebase/migration`).
   *
   * Behind a transaction pooler (`pooler: 'transaction'`) the run needs `directUrl` (an option
   * here or of `createCarebase`): without one it throws `MigrationError` (reason
   * `needs_direct_connection`) before connecting, and so does a run whose connection turns out
   * to go through a pooler.
   *
   * Throws `MigrationError` when a migration fails, drifted or never got its locks,
   * `ClosedError` after `close()`.
   *
   * @example
   * ```ts
   * import { configFromEnv, createCarebase } from 'carebase';
   * import { fileMigrations } from 'carebase/migration';
   * const cb = createCarebase({
   *   ...configFromEnv(),
   *   migrations: { sources: [fileMigrations('./migrations', { namespace: 'app' })] },
   * });
   * await cb.migrate(); // carebase's own, then the app's
   * ```
   */
  async migrate(
    options: {
      sources?: readonly MigrationSource[];
      includeLibrary?: boolean;
      signal?: AbortSignal;
      directUrl?: string | undefined;
    } = {},
  ): Promise<MigrateResult> {
    this.#assertOpen();
    const config = this.#runtime.config;
    const configured = config.migrations;
    const directUrl = options.directUrl ?? config.directUrl?.reveal();
    if (directUrl === undefined && config.pooler === 'transaction') {
      throw new MigrationError(
        "migrations need a direct connection to the server, and this instance is configured with pooler: 'transaction': " +
          'pass directUrl (createCarebase({ directUrl }) or cb.migrate({ directUrl }))',
        { reason: 'needs_direct_connection' },
      );
    }
    return this.#runtime.telemetry.operation('migrate', () =>
      migrate(this.#runtime.pool, {
        ...(directUrl === undefined ? {} : { directUrl }),
        sources: options.sources ?? configured.sources,
        includeLibrary: options.includeLibrary ?? configured.includeLibrary,
        schema: this.#runtime.config.schema,
        logger: this.#runtime.config.logger,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      }),
    );
  }

  /**
   * Checks the database: round-trip latency, server version, pool counts and the number of
   * pending migrations: carebase's own and those of the instance's `migrations.sources`. Never
   * throws for an unreachable database: returns `ok: false` with the error's code instead.
   *
   * @example
   * ```ts
   * app.get('/health', async (_req, res) => {
   *   const health = await cb.health();
   *   res.status(health.ok ? 200 : 503).json(health);
   * });
   * ```
   */
  health(): Promise<HealthReport> {
    const runtime = this.#runtime;
    const { migrations, schema } = runtime.config;
    const sources = withLibrary(migrations.sources, migrations.includeLibrary);
    let applied: ReadonlySet<string> | undefined;
    return runtime.telemetry.operation('health', () =>
      checkHealth(
        runtime.pool,
        async () => {
          // One named statement: the latency probe, the server version and the applied migrations.
          const probe = runtime.prepared.get('health.probe', () => healthProbeSql(schema));
          try {
            const [row] = await runtime.runPrepared<{ version: string; applied: string[] }>({
              sql: probe.sql,
              parameters: [sources.map((source) => source.namespace)],
            });
            applied = new Set(row?.applied ?? []);
            return row?.version;
          } catch (error) {
            if (!isCarebaseError(error, 'QUERY_FAILED') || !MISSING_RELATION.has(error.sqlState ?? '')) {
              throw error;
            }
            // Never migrated: no tracking table, so every migration is pending.
            applied = new Set();
            const version = runtime.prepared.get('health.version', () => VERSION_SQL);
            const [row] = await runtime.runPrepared<{ version: string }>({
              sql: version.sql,
              parameters: [],
            });
            return row?.version;
          }
        },
        () => countPendingMigrations(sources, applied ?? new Set()),
        runtime.replicas === undefined ? undefined : () => (runtime.replicas as ReplicaSet).health(),
      ),
    );
  }

  /**
   * Shuts the instance down: finishes its background work first (flushes every open
   * `analytics.buffer()`, runs a last audit sealing pass when one was scheduled, waits for a
   * running rollup refresh), then lets calls already waiting for a pooled connection get one and
   * finish, waits for checked-out connections to be released and closes the pool (when carebase
   * created it). Leaves no timer, socket or pending promise behind: a process
   * whose only work was carebase exits on its own afterwards. Idempotent; never rejects for a
   * background failure (those are logged). Afterwards every call fails with `ClosedError`; calls
   * made while background work finishes still run.
   *
   * @example
   * ```ts
   * const server = app.listen(3000);
   * process.once('SIGTERM', async () => {
   *   server.close(); // stop taking requests
   *   await cb.close(); // buffered analytics written, audit sealed, pool closed
   * });
   * ```
   */
  close(): Promise<void> {
    // Ends the pool through the adapter rather than destroying Kysely, so later calls reach the
    // adapter and fail with ClosedError instead of Kysely's untyped "driver destroyed" error.
    this.#closing ??= (async () => {
      await this.#runtime.close();
      await this.#kyselyPool.end();
      this.#detach();
    })();
    return this.#closing;
  }

  /** Same as {@link Carebase.close}, for `await using cb = createCarebase(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #backups: BackupsApi | undefined;

  /**
   * Backups of this instance's database: `create`, `list`, `verify`, `restore`, `prune`, bound to
   * its configuration (see `carebase/backup`). They use their own connections, not the pool.
   *
   * @example
   * ```ts
   * const backup = await cb.backups.create();
   * console.log(backup.path, backup.manifest.sha256);
   * ```
   */
  get backups(): BackupsApi {
    this.#backups ??= instrument(
      new BackupsApi(this.#runtime.config, async () => {
        await drainPool(this.#runtime.pool);
      }),
      'backups',
      this.#runtime.telemetry,
    );
    return this.#backups;
  }

  #assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }
}

/**
 * Options of {@link createCarebase} beyond {@link CarebaseOptions}.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { createCarebase, type CreateCarebaseExtras } from 'carebase';
 * // The host owns the pool and shares it with its own queries.
 * const pool = new pg.Pool({ connectionString, max: 10 });
 * const extras: CreateCarebaseExtras = { pool };
 * const cb = createCarebase({ schema: 'carebase' }, extras);
 * await cb.close(); // leaves the host's pool open
 * await pool.end();
 * ```
 */
export interface CreateCarebaseExtras {
  /**
   * Use this pool instead of creating one (the host keeps ownership: `close()` does not end it).
   * The pool's own settings then apply instead of the `pool` options.
   */
  readonly pool?: pg.Pool;
}

/**
 * Creates a carebase instance: validates options, creates the pool (lazily connected) and a
 * `Kysely<CarebaseDatabase>` on it, scoped to the carebase schema.
 *
 * Throws `InvalidConfigurationError` naming the first invalid option. Creating an instance opens
 * no connection; the first query does.
 *
 * @example
 * ```ts
 * import { configFromEnv, createCarebase } from 'carebase';
 * const cb = createCarebase({ ...configFromEnv(), pool: { max: 10 } });
 * await cb.migrate();
 * console.log(await cb.health());
 * await cb.close();
 * ```
 */
export function createCarebase(options: CarebaseOptions = {}, extras: CreateCarebaseExtras = {}): Carebase {
  const config = resolveConfig(options);
  const pool = extras.pool ?? createPool(config);
  let detach = (): void => {};
  if (extras.pool !== undefined) {
    // The host's pool: make sure an idle connection's failure can never crash the process, for as
    // long as carebase uses the pool (the host may listen too).
    const onIdleError = (error: Error): void => {
      config.logger.warn(
        { err: new DriverErrorSummary(error) },
        'carebase: an idle pooled connection failed and was removed',
      );
    };
    pool.on('error', onIdleError);
    detach = () => {
      pool.off('error', onIdleError);
    };
  }
  const telemetry = new Telemetry({
    onQuery: config.onQuery,
    tracing: config.telemetry.tracing,
    metrics: config.telemetry.metrics,
    queryText: config.telemetry.queryText,
    tracerProvider: config.telemetry.tracerProvider,
    meterProvider: config.telemetry.meterProvider,
    database: config.connection.database,
    serverAddress: config.connection.host,
    serverPort: config.connection.port,
    poolName: `${config.pool.applicationName}:${config.connection.database}/${config.schema}`,
    logger: config.logger,
  });
  const stopObserving = telemetry.observePool(pool);
  const detachPool = detach;
  detach = () => {
    stopObserving();
    detachPool();
  };
  const prepared = new PreparedStatements({ named: config.pooler !== 'transaction' });
  let runtime: CarebaseRuntime | undefined;
  // The primary's WAL position after the instance's writes, read by the first replica read after them.
  const replicas =
    config.replicas.length === 0
      ? undefined
      : new ReplicaSet(
          config,
          prepared,
          async () => {
            const statement = prepared.get('replica.primary-lsn', () => PRIMARY_LSN_SQL);
            const [row] =
              (await runtime?.runPrepared<{ lsn: string }>({ sql: statement.sql, parameters: [] })) ?? [];
            return parseLsn(row?.lsn);
          },
          telemetry,
        );
  const connections = new CarebaseKyselyPool(
    pool,
    prepared,
    extras.pool === undefined,
    transactionSettingsFrom(config),
    telemetry,
    replicas?.finished,
  );
  const db = poolKysely(connections, config.schema);
  runtime = new CarebaseRuntime({ config, pool, prepared, connections, db, telemetry, replicas });
  return new Carebase(runtime, detach);
}
