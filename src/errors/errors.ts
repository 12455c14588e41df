/**
 * The carebase error taxonomy: one base class with a stable string `code`, and one subclass per
 * kind of failure a caller may want to handle differently.
 *
 * Messages never contain parameter values, passwords, tokens or message content: they name the
 * field, table or constraint instead. Tell errors apart by `code` (or `instanceof`), never by
 * message text.
 */

const BRAND = Symbol.for('carebase.error');

/**
 * Every stable error code carebase throws.
 *
 * @example
 * ```ts
 * import { type CarebaseErrorCode, isCarebaseError } from 'carebase';
 * import type { ErrorRequestHandler } from 'express';
 *
 * const httpStatus: Partial<Record<CarebaseErrorCode, number>> = {
 *   VALIDATION_FAILED: 400,
 *   FORBIDDEN: 403,
 *   NOT_FOUND: 404,
 *   CONFLICT: 409,
 *   POOL_TIMEOUT: 503,
 * };
 * const onError: ErrorRequestHandler = (error, _req, res, next) => {
 *   if (!isCarebaseError(error)) return next(error);
 *   res.status(httpStatus[error.code] ?? 500).json({ code: error.code });
 * };
 * app.use(onError);
 * ```
 */
export type CarebaseErrorCode =
  | 'CAREBASE_ERROR'
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'CONSTRAINT_VIOLATION'
  | 'FORBIDDEN'
  | 'INVALID_CONFIGURATION'
  | 'MIGRATION_FAILED'
  | 'BACKUP_FAILED'
  | 'CONNECTION_FAILED'
  | 'POOL_TIMEOUT'
  | 'STATEMENT_TIMEOUT'
  | 'SERIALIZATION_FAILURE'
  | 'CLOSED'
  | 'ABORTED'
  | 'QUERY_FAILED'
  | 'DECRYPTION_FAILED'
  | 'UNSUPPORTED_OPERATION';

/**
 * Options accepted by every carebase error constructor.
 *
 * @example
 * ```ts
 * import { BackupError, type CarebaseErrorOptions } from 'carebase';
 * // A host step wrapped in the carebase model, keeping the original failure as `cause`:
 * function uploadFailed(cause: unknown): BackupError {
 *   const options: CarebaseErrorOptions = { cause };
 *   return new BackupError('upload of the backup to object storage failed', options);
 * }
 * ```
 */
export interface CarebaseErrorOptions {
  /** The underlying error (already stripped of values by the mapper when it came from the driver). */
  readonly cause?: unknown;
}

/**
 * Base class of every error carebase throws.
 *
 * @example
 * ```ts
 * import { CarebaseError } from 'carebase';
 * try {
 *   await cb.users.getById(id);
 * } catch (error) {
 *   if (error instanceof CarebaseError && error.code === 'NOT_FOUND') {
 *     // ...
 *   }
 * }
 * ```
 */
export class CarebaseError extends Error {
  /** A stable, machine-readable code. Never changes between versions for the same condition. */
  readonly code: CarebaseErrorCode;

  constructor(code: CarebaseErrorCode, message: string, options: CarebaseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }
}

/**
 * True when `error` is a carebase error, optionally with the given code. Survives the package
 * being loaded twice (ESM and CJS copies) because it checks a `Symbol.for` brand, not the class.
 *
 * @example
 * ```ts
 * import { isCarebaseError } from 'carebase';
 * try {
 *   await cb.users.create({ username: 'ana', email: 'ana@example.org', password, role: 'nurse' });
 * } catch (error) {
 *   if (isCarebaseError(error, 'CONFLICT')) console.log(`taken: ${error.field}`);
 *   else throw error;
 * }
 * ```
 */
export function isCarebaseError<C extends CarebaseErrorCode>(
  error: unknown,
  code?: C,
): error is CarebaseErrorByCode[C] {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (error as CarebaseError).code === code;
}

/**
 * One problem found while validating input. `path` names the field; no values are included.
 *
 * @example
 * ```ts
 * import { isCarebaseError, type ValidationIssue } from 'carebase';
 * function formErrors(issues: readonly ValidationIssue[]): Record<string, string> {
 *   return Object.fromEntries(issues.map((issue) => [issue.path.join('.'), issue.message]));
 * }
 * try {
 *   await cb.users.update(userId, { email: 'not-an-email' });
 * } catch (error) {
 *   if (isCarebaseError(error, 'VALIDATION_FAILED')) res.status(400).json(formErrors(error.issues));
 *   else throw error;
 * }
 * ```
 */
export interface ValidationIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly code: string;
}

/**
 * Input failed validation. Thrown before any SQL runs, so nothing was written.
 *
 * @example
 * ```ts
 * import { ValidationError } from 'carebase';
 * try {
 *   await cb.users.create({ username: 'ana', email: 'ana@example', password, role: 'nurse' });
 * } catch (error) {
 *   if (!(error instanceof ValidationError)) throw error;
 *   // Nothing was written: tell the form which field to fix (issues never echo the values).
 *   res.status(400).json({ field: error.field, issues: error.issues });
 * }
 * ```
 */
export class ValidationError extends CarebaseError {
  /** The problems found, each naming its field. */
  readonly issues: readonly ValidationIssue[];
  /** Dotted path of the first offending field, e.g. `pool.max` or `messages.3.content`. */
  readonly field: string | undefined;

  constructor(message: string, issues: readonly ValidationIssue[], options: CarebaseErrorOptions = {}) {
    super('VALIDATION_FAILED', message, options);
    this.issues = issues;
    const first = issues[0];
    this.field = first === undefined ? undefined : first.path.join('.');
  }
}

/**
 * The requested row does not exist (or is not visible to the caller).
 *
 * @example
 * ```ts
 * import { NotFoundError } from 'carebase';
 * app.get('/users/:id', async (req, res) => {
 *   try {
 *     res.json(await cb.users.getById(req.params.id));
 *   } catch (error) {
 *     if (error instanceof NotFoundError) res.status(404).json({ error: `${error.resource} not found` });
 *     else throw error;
 *   }
 * });
 * ```
 */
export class NotFoundError extends CarebaseError {
  /** What was looked for, e.g. `user`, `conversation`. */
  readonly resource: string;

  constructor(resource: string, options: CarebaseErrorOptions = {}) {
    super('NOT_FOUND', `${resource} not found`, options);
    this.resource = resource;
  }
}

/**
 * A unique constraint was violated. `field` says which (e.g. `email`), never the value.
 *
 * @example
 * ```ts
 * import { ConflictError } from 'carebase';
 * try {
 *   await cb.users.create({ username: 'ana', email: 'ana@example.org', password, role: 'nurse' });
 * } catch (error) {
 *   // `field` is 'username' or 'email'; the message never repeats the value.
 *   if (error instanceof ConflictError) res.status(409).json({ error: `${error.field} is already taken` });
 *   else throw error;
 * }
 * ```
 */
export class ConflictError extends CarebaseError {
  readonly field: string;
  readonly constraint: string | undefined;

  constructor(field: string, constraint?: string, options: CarebaseErrorOptions = {}) {
    super('CONFLICT', `a row with this ${field} already exists`, options);
    this.field = field;
    this.constraint = constraint;
  }
}

/**
 * An optimistic-concurrency check failed: the record changed since the caller read it (its
 * `version` is no longer `expectedVersion`). Code `CONFLICT`, `field` `version`; nothing was
 * written. Read the record again, reapply the change, retry.
 *
 * @example
 * ```ts
 * import { VersionConflictError } from 'carebase';
 * try {
 *   await cb.chat.updateConversation(conversationId, { userId, status: 'closed', expectedVersion: 4 });
 * } catch (error) {
 *   if (error instanceof VersionConflictError) res.status(409).json({ currentVersion: error.currentVersion });
 *   else throw error;
 * }
 * ```
 */
export class VersionConflictError extends ConflictError {
  /** The version the caller expected. */
  readonly expectedVersion: number;
  /** The record's version now. */
  readonly currentVersion: number;

  constructor(resource: string, expectedVersion: number, currentVersion: number) {
    super('version');
    this.message = `${resource} was changed concurrently (now at version ${currentVersion}, expected ${expectedVersion})`;
    this.expectedVersion = expectedVersion;
    this.currentVersion = currentVersion;
  }
}

/**
 * A check, foreign-key, not-null or exclusion constraint refused the write.
 *
 * @example
 * ```ts
 * import { ConstraintViolationError } from 'carebase';
 * try {
 *   // cb.db maps driver errors too: a session for a user that was erased meanwhile.
 *   await cb.db
 *     .insertInto('sessions')
 *     .values({
 *       user_id: userId,
 *       token_hash: Buffer.alloc(32),
 *       expires_at: new Date(Date.now() + 3_600_000),
 *     })
 *     .execute();
 * } catch (error) {
 *   if (error instanceof ConstraintViolationError && error.kind === 'foreign_key') res.status(410).end();
 *   else throw error;
 * }
 * ```
 */
export class ConstraintViolationError extends CarebaseError {
  readonly kind: 'check' | 'foreign_key' | 'not_null' | 'exclusion' | 'restrict';
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;

  constructor(
    kind: ConstraintViolationError['kind'],
    details: { constraint?: string | undefined; table?: string | undefined; column?: string | undefined },
    options: CarebaseErrorOptions = {},
  ) {
    const where = details.constraint ?? details.column ?? details.table ?? 'unknown';
    super('CONSTRAINT_VIOLATION', `${kind.replace('_', ' ')} constraint violated (${where})`, options);
    this.kind = kind;
    this.constraint = details.constraint;
    this.table = details.table;
    this.column = details.column;
  }
}

/**
 * The caller may not act on this resource (e.g. another user's conversation).
 *
 * @example
 * ```ts
 * import { ForbiddenError } from 'carebase';
 * try {
 *   await cb.chat.append({ userId: req.user.id, conversationId, role: 'user', content: question });
 * } catch (error) {
 *   // The conversation belongs to another user: do not say whether it exists.
 *   if (error instanceof ForbiddenError) res.status(404).end();
 *   else throw error;
 * }
 * ```
 */
export class ForbiddenError extends CarebaseError {
  readonly resource: string;

  constructor(resource: string, options: CarebaseErrorOptions = {}) {
    super('FORBIDDEN', `access to this ${resource} is not allowed`, options);
    this.resource = resource;
  }
}

/**
 * Options or environment variables are invalid. `field` names the offending option.
 *
 * @example
 * ```ts
 * import { configFromEnv, createCarebase, InvalidConfigurationError } from 'carebase';
 * try {
 *   const cb = createCarebase(configFromEnv());
 *   await cb.migrate();
 * } catch (error) {
 *   if (!(error instanceof InvalidConfigurationError)) throw error;
 *   // `field` names the option or variable (e.g. `pool.max`); never its value.
 *   console.error(`fix the configuration of ${error.field}: ${error.message}`);
 *   process.exitCode = 78; // EX_CONFIG
 * }
 * ```
 */
export class InvalidConfigurationError extends CarebaseError {
  readonly field: string;

  constructor(field: string, problem: string, options: CarebaseErrorOptions = {}) {
    super('INVALID_CONFIGURATION', `invalid configuration for ${field}: ${problem}`, options);
    this.field = field;
  }
}

/**
 * A migration failed, drifted, or could not take its lock.
 *
 * @example
 * ```ts
 * import { MigrationError } from 'carebase';
 * try {
 *   await cb.migrate();
 * } catch (error) {
 *   if (!(error instanceof MigrationError)) throw error;
 *   // Do not serve traffic on a schema that is not the one the code expects.
 *   console.error(`migration ${error.migration ?? '(run)'} failed: ${error.message}`);
 *   process.exit(1);
 * }
 * ```
 */
export class MigrationError extends CarebaseError {
  /** The migration concerned, when there is one. */
  readonly migration: string | undefined;
  /** Per-migration results up to the failure, when a run was under way. */
  readonly results: readonly unknown[];
  /**
   * `'needs_direct_connection'` when the run was refused before any lock because its connection
   * goes through a (transaction) pooler: pass `directUrl`. Undefined otherwise.
   */
  readonly reason: 'needs_direct_connection' | undefined;

  constructor(
    message: string,
    details: {
      migration?: string | undefined;
      results?: readonly unknown[];
      reason?: 'needs_direct_connection' | undefined;
    } = {},
    options: CarebaseErrorOptions = {},
  ) {
    super('MIGRATION_FAILED', message, options);
    this.migration = details.migration;
    this.results = details.results ?? [];
    this.reason = details.reason;
  }
}

/**
 * Options of the {@link BackupError} constructor.
 *
 * @example
 * ```ts
 * import { BackupError, type BackupErrorOptions } from 'carebase';
 * // A host's upload step, naming the file it could not read.
 * const options: BackupErrorOptions = { file: '/var/backups/app/nightly.dump' };
 * throw new BackupError('could not upload the archive', options);
 * ```
 */
export interface BackupErrorOptions extends CarebaseErrorOptions {
  /** The file concerned. */
  readonly file?: string | undefined;
  /** The table concerned, as `schema.table`. */
  readonly table?: string | undefined;
}

/**
 * A backup, verification, restore or prune failed, or the PostgreSQL tools are unusable.
 *
 * @example
 * ```ts
 * import { BackupError } from 'carebase';
 * try {
 *   await cb.backups.create();
 * } catch (error) {
 *   // e.g. pg_dump missing or of an older major version than the server, or the disk is full.
 *   if (error instanceof BackupError)
 *     logger.error({ code: error.code, reason: error.message }, 'nightly backup failed');
 *   else throw error;
 * }
 * ```
 */
export class BackupError extends CarebaseError {
  /** The file concerned, when a file could not be read or written (e.g. the manifest, on ENOSPC). */
  readonly file: string | undefined;
  /** The table concerned (`schema.table`), when the backup role may not read it. */
  readonly table: string | undefined;

  constructor(message: string, options: BackupErrorOptions = {}) {
    super('BACKUP_FAILED', message, options);
    this.file = options.file;
    this.table = options.table;
  }
}

/**
 * Why a connection could not be opened or was lost, in a form safe to log and to branch on: it
 * never carries the password, a host's message text or a query parameter.
 *
 * - `unreachable`: nothing listens at the address (refused, no route, unknown host, no socket).
 * - `timeout`: the server did not complete the connection within `pool.connectionTimeoutMs`.
 * - `server_closed`: the server ended an open connection (a terminated backend, a restart or
 *   failover, `idle_in_transaction_session_timeout`, a reset socket).
 * - `server_not_ready`: the server is starting up, shutting down or in recovery (SQLSTATE 57P03).
 * - `too_many_connections`: no free connection slot on the server (53300).
 * - `database_missing`: the configured database does not exist (3D000).
 * - `auth_failed`: the server refused the credentials (class 28), or the client could not
 *   complete the authentication exchange (no password configured for a server that wants one).
 * - `tls_required_by_server`: the server refused a connection without TLS (SQLSTATE 28000 on an
 *   unencrypted connection: no `pg_hba.conf` entry allows it without encryption).
 * - `server_without_tls`: TLS was required (`ssl: 'require'` or `verify-full`) and the server does
 *   not offer it.
 * - `tls_unknown_ca`: the server's certificate is not signed by a trusted CA (pass `ssl.ca`).
 * - `tls_hostname_mismatch`: the certificate does not name the host connected to.
 * - `tls_failed`: any other TLS failure (an expired or revoked certificate, no common protocol).
 * - `pooler_refused_startup_parameter`: refused at startup with SQLSTATE 08P01 before
 *   authentication: a transaction pooler (PgBouncer: "unsupported startup parameter") refusing the
 *   `statement_timeout` startup parameter. Set `pooler: 'transaction'`.
 * - `unknown`: none of the above could be determined.
 *
 * @example
 * ```ts
 * import { ConnectionError, type ConnectionFailureReason } from 'carebase';
 * // Page the on-call engineer for configuration problems; let the orchestrator retry the rest.
 * const misconfigured: readonly ConnectionFailureReason[] = [
 *   'auth_failed',
 *   'database_missing',
 *   'tls_unknown_ca',
 *   'tls_hostname_mismatch',
 *   'tls_required_by_server',
 *   'server_without_tls',
 * ];
 * try {
 *   await cb.migrate();
 * } catch (error) {
 *   if (error instanceof ConnectionError && misconfigured.includes(error.reason)) process.exitCode = 78;
 *   else throw error;
 * }
 * ```
 */
export type ConnectionFailureReason =
  | 'unreachable'
  | 'timeout'
  | 'server_closed'
  | 'server_not_ready'
  | 'too_many_connections'
  | 'database_missing'
  | 'auth_failed'
  | 'tls_required_by_server'
  | 'server_without_tls'
  | 'tls_unknown_ca'
  | 'tls_hostname_mismatch'
  | 'tls_failed'
  | 'pooler_refused_startup_parameter'
  | 'unknown';

/**
 * Options of the {@link ConnectionError} constructor.
 *
 * @example
 * ```ts
 * import { ConnectionError, type ConnectionErrorOptions } from 'carebase';
 * // A host's own readiness probe, reported in carebase's model.
 * const options: ConnectionErrorOptions = { reason: 'timeout' };
 * throw new ConnectionError('the replica did not answer within 2 s', options);
 * ```
 */
export interface ConnectionErrorOptions extends CarebaseErrorOptions {
  /** Why the connection failed. @default 'unknown' */
  readonly reason?: ConnectionFailureReason;
}

/**
 * The server could not be reached, refused the login, or dropped the connection. `reason` says
 * which, without values; the connection concerned is discarded, never reused. Whether a write
 * that failed so was committed is unknown: retry only idempotent writes (e.g. `chat.append` with
 * an `id`).
 *
 * @example
 * ```ts
 * import { ConnectionError } from 'carebase';
 * app.get('/ready', async (_req, res) => {
 *   try {
 *     res.json(await cb.health());
 *   } catch (error) {
 *     // Server down, login refused or connection dropped: not ready, the orchestrator retries.
 *     if (error instanceof ConnectionError) res.status(503).json({ ok: false, reason: error.reason });
 *     else throw error;
 *   }
 * });
 * ```
 */
export class ConnectionError extends CarebaseError {
  /** Why the connection failed; safe to log (never the password or a server message). */
  readonly reason: ConnectionFailureReason;
  /** One line on what to do about `reason`; fixed text, never a value. */
  readonly hint: string;

  constructor(message: string, options: ConnectionErrorOptions = {}) {
    super('CONNECTION_FAILED', message, options);
    this.reason = options.reason ?? 'unknown';
    this.hint = CONNECTION_HINTS[this.reason];
  }
}

const CONNECTION_HINTS: Readonly<Record<ConnectionFailureReason, string>> = {
  unreachable: 'check the host and port, and that the server is running and reachable from here',
  timeout:
    'the server or network is slow or dropping packets; raise pool.connectionTimeoutMs only if it is merely slow',
  server_closed: 'transient (restart, failover, terminated backend): retry idempotent work',
  server_not_ready: 'the server is starting, stopping or recovering: retry shortly',
  too_many_connections: "lower pool.max across instances, or put a pooler in front (pooler: 'transaction')",
  database_missing: 'create the database, or fix the database name in the URL',
  auth_failed: 'check the user and password (DB_PASSWORD, the URL, PGPASSWORD or ~/.pgpass) and pg_hba.conf',
  tls_required_by_server: "the server accepts only TLS: set ssl (or sslmode=require / 'verify-full')",
  server_without_tls:
    "the server offers no TLS: enable it on the server, or use ssl: 'disable' on a trusted network",
  tls_unknown_ca:
    "the server's certificate is not signed by a trusted CA: pass ssl.ca (or sslrootcert=) with the provider's CA bundle",
  tls_hostname_mismatch:
    'connect by the host name on the certificate, or use verify-ca to check the chain only',
  tls_failed:
    'the TLS handshake failed (expired or revoked certificate, no common protocol): check the certificates',
  pooler_refused_startup_parameter:
    "a transaction pooler is in front of the server: set pooler: 'transaction' (DB_POOLER=transaction)",
  unknown: 'see the error cause (SQLSTATE or errno) for details',
};

/**
 * No pooled connection became free within the connection timeout.
 *
 * @example
 * ```ts
 * import { ConnectionError, PoolTimeoutError } from 'carebase';
 * import type { ErrorRequestHandler } from 'express';
 * // Every pooled connection stayed busy for `pool.connectionTimeoutMs`: shed load, ask to retry.
 * const onError: ErrorRequestHandler = (error, _req, res, next) => {
 *   if (error instanceof PoolTimeoutError || error instanceof ConnectionError) {
 *     res.set('Retry-After', '5').status(503).json({ error: 'database busy, retry shortly' });
 *   } else next(error);
 * };
 * app.use(onError);
 * ```
 */
export class PoolTimeoutError extends CarebaseError {
  constructor(timeoutMs: number, options: CarebaseErrorOptions = {}) {
    super('POOL_TIMEOUT', `no pooled connection became available within ${timeoutMs} ms`, options);
  }
}

/**
 * A statement ran longer than `statement_timeout` (or was cancelled) and was stopped by the server.
 *
 * @example
 * ```ts
 * import { StatementTimeoutError } from 'carebase';
 * try {
 *   res.json(await cb.audit.query({ from, to, limit: 500 }));
 * } catch (error) {
 *   if (error instanceof StatementTimeoutError)
 *     res.status(503).json({ error: 'query took too long; narrow the range' });
 *   else throw error;
 * }
 * ```
 */
export class StatementTimeoutError extends CarebaseError {
  constructor(options: CarebaseErrorOptions = {}) {
    super(
      'STATEMENT_TIMEOUT',
      'statement cancelled by the server (statement timeout or cancel request)',
      options,
    );
  }
}

/**
 * A serialization failure (40001) or deadlock (40P01) that outlived the transaction's retries.
 *
 * @example
 * ```ts
 * import { SerializationFailureError } from 'carebase';
 * try {
 *   await cb.transaction(
 *     async (tx) => {
 *       await tx.users.setRole(userId, 'admin');
 *       await tx.sessions.revokeAllForUser(userId);
 *     },
 *     { isolation: 'serializable', retries: 5 },
 *   );
 * } catch (error) {
 *   // Still conflicting after 5 re-runs: nothing was written; let the client try again.
 *   if (error instanceof SerializationFailureError) res.status(409).json({ error: 'busy, try again' });
 *   else throw error;
 * }
 * ```
 */
export class SerializationFailureError extends CarebaseError {
  readonly sqlState: string;

  constructor(sqlState: string, options: CarebaseErrorOptions = {}) {
    super(
      'SERIALIZATION_FAILURE',
      sqlState === '40P01' ? 'deadlock detected' : 'could not serialize access due to concurrent update',
      options,
    );
    this.sqlState = sqlState;
  }
}

/**
 * The carebase instance (or its pool) was closed before this call.
 *
 * @example
 * ```ts
 * import { ClosedError } from 'carebase';
 * process.once('SIGTERM', () => void cb.close());
 * app.use(async (req, res, next) => {
 *   try {
 *     const found = await cb.sessions.validate(String(req.headers.authorization).replace(/^Bearer /, ''));
 *     if (found === undefined) res.status(401).end();
 *     else next();
 *   } catch (error) {
 *     // Shutting down: requests still in flight get a retryable answer.
 *     if (error instanceof ClosedError) res.status(503).end();
 *     else next(error);
 *   }
 * });
 * ```
 */
export class ClosedError extends CarebaseError {
  constructor(options: CarebaseErrorOptions = {}) {
    super('CLOSED', 'this carebase instance has been closed', options);
  }
}

/**
 * The operation was cancelled through its `AbortSignal`.
 *
 * @example
 * ```ts
 * import { AbortError } from 'carebase';
 * try {
 *   await cb.backups.create({ signal: AbortSignal.timeout(15 * 60_000) });
 * } catch (error) {
 *   // pg_dump was killed and its partial file removed.
 *   if (error instanceof AbortError) console.warn('backup cancelled after 15 minutes');
 *   else throw error;
 * }
 * ```
 */
export class AbortError extends CarebaseError {
  constructor(options: CarebaseErrorOptions = {}) {
    super('ABORTED', 'the operation was aborted', options);
  }
}

/**
 * Any other database error. `sqlState` tells what happened; the message never carries values.
 *
 * @example
 * ```ts
 * import { QueryError } from 'carebase';
 * try {
 *   await cb.users.list({ limit: 20 });
 * } catch (error) {
 *   // 42P01 undefined_table: the schema was never migrated.
 *   if (error instanceof QueryError && error.sqlState === '42P01')
 *     console.error('run `carebase migrate` first');
 *   else throw error;
 * }
 * ```
 */
export class QueryError extends CarebaseError {
  readonly sqlState: string | undefined;

  constructor(message: string, sqlState?: string, options: CarebaseErrorOptions = {}) {
    super('QUERY_FAILED', message, options);
    this.sqlState = sqlState;
  }
}

/**
 * Why a stored ciphertext could not be decrypted (see {@link DecryptionError}):
 * - `missing_key`: no data key is stored for the row's user (erased: crypto-shredded), or no
 *   keyring is configured;
 * - `unknown_key`: the keyring does not have the key-encryption key the data key was wrapped with;
 * - `tampered`: authentication failed: the ciphertext, or the row identity it is bound to (user,
 *   conversation, role, time), was altered or the ciphertext was moved to another row;
 * - `malformed`: not a carebase envelope (truncated, bad prefix, unknown format version).
 *
 * @example
 * ```ts
 * import type { DecryptionFailure } from 'carebase';
 * const alert: Record<DecryptionFailure, boolean> = {
 *   missing_key: false,
 *   unknown_key: true,
 *   tampered: true,
 *   malformed: true,
 * };
 * ```
 */
export type DecryptionFailure = 'missing_key' | 'unknown_key' | 'tampered' | 'malformed';

/**
 * A stored value could not be decrypted. Names the table and row (never the value, never the
 * key): carebase never returns ciphertext or garbage in place of the plaintext.
 *
 * @example
 * ```ts
 * import { DecryptionError } from 'carebase';
 * try {
 *   await cb.chat.history({ userId });
 * } catch (error) {
 *   if (!(error instanceof DecryptionError)) throw error;
 *   logger.error({ table: error.table, rowId: error.rowId, reason: error.reason }, 'undecryptable chat row');
 * }
 * ```
 */
export class DecryptionError extends CarebaseError {
  /** The table of the row: `chat_messages`, `conversations` or `encryption_data_keys`. */
  readonly table: string;
  /** The row's id (for `encryption_data_keys`: the user id). */
  readonly rowId: string;
  readonly reason: DecryptionFailure;

  constructor(table: string, rowId: string, reason: DecryptionFailure, options: CarebaseErrorOptions = {}) {
    super('DECRYPTION_FAILED', `cannot decrypt ${table} row ${rowId}: ${reason.replace('_', ' ')}`, options);
    this.table = table;
    this.rowId = rowId;
    this.reason = reason;
  }
}

/**
 * The operation cannot run in this configuration, e.g. the bulk `cb.imports` with encryption on
 * (they COPY clear rows). `operation` names it.
 *
 * @example
 * ```ts
 * import { UnsupportedOperationError } from 'carebase';
 * try {
 *   await cb.imports.messages({ source: 'legacy', messages: [] });
 * } catch (error) {
 *   if (error instanceof UnsupportedOperationError) res.status(501).json({ error: error.operation });
 *   else throw error;
 * }
 * ```
 */
export class UnsupportedOperationError extends CarebaseError {
  /** The refused operation, e.g. `imports.messages`. */
  readonly operation: string;

  constructor(operation: string, reason: string, options: CarebaseErrorOptions = {}) {
    super('UNSUPPORTED_OPERATION', `${operation} is not available: ${reason}`, options);
    this.operation = operation;
  }
}

/**
 * Maps each code to its class, for the type guard.
 *
 * @example
 * ```ts
 * import { type CarebaseErrorByCode, isCarebaseError } from 'carebase';
 * // `isCarebaseError(error, code)` narrows through this map, so code-specific fields are typed:
 * function takenField(error: unknown): string | undefined {
 *   const conflict: CarebaseErrorByCode['CONFLICT'] | undefined = isCarebaseError(error, 'CONFLICT')
 *     ? error
 *     : undefined;
 *   return conflict?.field;
 * }
 * ```
 */
export interface CarebaseErrorByCode {
  CAREBASE_ERROR: CarebaseError;
  VALIDATION_FAILED: ValidationError;
  NOT_FOUND: NotFoundError;
  CONFLICT: ConflictError;
  CONSTRAINT_VIOLATION: ConstraintViolationError;
  FORBIDDEN: ForbiddenError;
  INVALID_CONFIGURATION: InvalidConfigurationError;
  MIGRATION_FAILED: MigrationError;
  BACKUP_FAILED: BackupError;
  CONNECTION_FAILED: ConnectionError;
  POOL_TIMEOUT: PoolTimeoutError;
  STATEMENT_TIMEOUT: StatementTimeoutError;
  SERIALIZATION_FAILURE: SerializationFailureError;
  CLOSED: ClosedError;
  ABORTED: AbortError;
  QUERY_FAILED: QueryError;
  DECRYPTION_FAILED: DecryptionError;
  UNSUPPORTED_OPERATION: UnsupportedOperationError;
}
