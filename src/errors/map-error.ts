import {
  CarebaseError,
  ClosedError,
  ConflictError,
  ConnectionError,
  type ConnectionFailureReason,
  ConstraintViolationError,
  isCarebaseError,
  PoolTimeoutError,
  QueryError,
  SerializationFailureError,
  StatementTimeoutError,
  ValidationError,
} from './errors.js';

/**
 * The one place where driver errors (SQLSTATE codes, socket errors, pool errors) become carebase
 * errors. Every repository, the pool, the migrator and the backup helpers route failures here.
 *
 * The driver's own message is never copied: PostgreSQL messages can quote values
 * (`invalid input syntax for type uuid: "..."`, `Key (email)=(...)`), so the mapped error keeps
 * only structural fields (SQLSTATE, constraint, table, column) in a {@link DriverErrorSummary}
 * as its `cause`. The untouched driver error stays reachable, non-enumerable, under
 * {@link DRIVER_ERROR} for deliberate debugging; it is never printed by `util.inspect`.
 */

/**
 * Non-enumerable key under which a mapped error keeps the original driver error.
 *
 * @example
 * ```ts
 * import { DRIVER_ERROR, isCarebaseError } from 'carebase';
 * try {
 *   await cb.users.list({ limit: 20 });
 * } catch (error) {
 *   // Local debugging only: the raw pg error may quote row values, so never log it in production.
 *   if (isCarebaseError(error) && process.env.NODE_ENV === 'development') {
 *     console.debug((error as unknown as Record<symbol, unknown>)[DRIVER_ERROR]);
 *   }
 *   throw error;
 * }
 * ```
 */
export const DRIVER_ERROR: unique symbol = Symbol.for('carebase.driverError');

/**
 * What the pool layer (src/pool/, the only writer) knows about how a driver error arose: the
 * driver's own errors for these cases are plain `Error`s told apart only by their text, so the
 * code that saw them happen marks them instead.
 */
type PoolMark =
  | { readonly kind: 'pool_ended' }
  | { readonly kind: 'pool_wait_timeout'; readonly timeoutMs: number }
  | { readonly kind: 'connection_lost' };

/**
 * How far a new connection got before it failed: `socket` (no TCP/Unix connection), `tls` (TLS
 * requested, not established), `startup` (startup message sent, no authentication asked yet),
 * `auth` (the server asked for credentials), `unknown` (a host-made client we could not watch).
 */
export type ConnectStage = 'socket' | 'tls' | 'startup' | 'auth' | 'unknown';

/** Marks of failed connection attempts, set by carebase's client class and the pool adapter. */
interface ConnectMark {
  readonly stage: ConnectStage;
  /** Whether TLS was requested. */
  readonly tls: boolean;
  /** Whether the attempt ran into the connection timeout. */
  readonly timedOut: boolean;
}

const poolMarks = new WeakMap<object, PoolMark>();
const connectMarks = new WeakMap<object, ConnectMark>();

/** Marks `error` as a lost-connection error (the client failed or was lost during the call). */
export function markConnectionLoss(error: unknown): void {
  if (typeof error === 'object' && error !== null && !poolMarks.has(error)) {
    poolMarks.set(error, { kind: 'connection_lost' });
  }
}

/** Marks `error` as a pool acquisition timeout after waiting `timeoutMs`. */
export function markPoolWaitTimeout(error: unknown, timeoutMs: number): void {
  if (typeof error === 'object' && error !== null)
    poolMarks.set(error, { kind: 'pool_wait_timeout', timeoutMs });
}

/** Marks `error` as raised by a pool that had already been ended. */
export function markPoolEnded(error: unknown): void {
  if (typeof error === 'object' && error !== null) poolMarks.set(error, { kind: 'pool_ended' });
}

/** Marks `error` as the failure of a new connection at `stage` (kept when already marked). */
export function markConnectFailure(error: unknown, mark: ConnectMark): void {
  if (typeof error === 'object' && error !== null && !connectMarks.has(error)) connectMarks.set(error, mark);
}

function connectMarkOf(error: object): ConnectMark | undefined {
  const own = connectMarks.get(error);
  if (own !== undefined) return own;
  const cause = (error as { cause?: unknown }).cause;
  return typeof cause === 'object' && cause !== null ? connectMarks.get(cause) : undefined;
}

/**
 * Structural fields of a PostgreSQL error, without its message, detail or hint.
 *
 * @example
 * ```ts
 * import { DriverErrorSummary, QueryError } from 'carebase';
 * try {
 *   await cb.users.list({ limit: 20 });
 * } catch (error) {
 *   // The cause keeps SQLSTATE, table and constraint, never the server's message: safe to log.
 *   if (error instanceof QueryError && error.cause instanceof DriverErrorSummary) {
 *     logger.error({ sqlState: error.cause.code, table: error.cause.table }, 'query failed');
 *   }
 *   throw error;
 * }
 * ```
 */
export class DriverErrorSummary extends Error {
  readonly code: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly schema: string | undefined;
  readonly routine: string | undefined;

  constructor(source: PgErrorLike) {
    const where = [source.schema, source.table, source.column].filter(Boolean).join('.');
    super(`SQLSTATE ${source.code ?? 'unknown'}${where ? ` on ${where}` : ''}`);
    this.name = 'DriverErrorSummary';
    this.code = source.code;
    this.constraint = source.constraint;
    this.table = source.table;
    this.column = source.column;
    this.schema = source.schema;
    this.routine = source.routine;
    if (typeof source.stack === 'string') {
      // Keep the frames, drop the first line (it carries the server's message).
      this.stack = `${this.name}: ${this.message}\n${source.stack.split('\n').slice(1).join('\n')}`;
    }
  }
}

/**
 * The fields of a `pg` `DatabaseError` that the mapper reads (no message, detail or hint).
 *
 * @example
 * ```ts
 * import { DriverErrorSummary, type PgErrorLike } from 'carebase';
 * // Only these structural fields are read; never the message, detail or hint.
 * const fields: PgErrorLike = { code: '23503', table: 'sessions', constraint: 'sessions_user_id_fkey' };
 * console.log(new DriverErrorSummary(fields).message); // SQLSTATE 23503 on sessions
 * ```
 */
export interface PgErrorLike {
  readonly code?: string | undefined;
  readonly severity?: string | undefined;
  readonly constraint?: string | undefined;
  readonly table?: string | undefined;
  readonly column?: string | undefined;
  readonly schema?: string | undefined;
  readonly routine?: string | undefined;
  readonly stack?: string | undefined;
}

function isPgDatabaseError(error: unknown): error is PgErrorLike & Error {
  if (!(error instanceof Error)) return false;
  const { code, severity } = error as PgErrorLike;
  return typeof code === 'string' && code.length === 5 && typeof severity === 'string';
}

/** Socket and TLS error codes (Node's `error.code`), by the connection failure they mean. */
const ERRNO_REASONS: Readonly<Record<string, ConnectionFailureReason>> = {
  ECONNREFUSED: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ENOTFOUND: 'unreachable',
  EAI_AGAIN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOENT: 'unreachable',
  ETIMEDOUT: 'timeout',
  ECONNRESET: 'server_closed',
  ECONNABORTED: 'server_closed',
  EPIPE: 'server_closed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls_unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT: 'tls_unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls_unknown_ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls_unknown_ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls_unknown_ca',
  CERT_UNTRUSTED: 'tls_unknown_ca',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls_hostname_mismatch',
  CERT_HAS_EXPIRED: 'tls_failed',
  CERT_NOT_YET_VALID: 'tls_failed',
  CERT_REVOKED: 'tls_failed',
  CERT_REJECTED: 'tls_failed',
  CERT_SIGNATURE_FAILURE: 'tls_failed',
  INVALID_CA: 'tls_failed',
  INVALID_PURPOSE: 'tls_failed',
};

function errnoReason(code: string): ConnectionFailureReason | undefined {
  if (Object.hasOwn(ERRNO_REASONS, code)) return ERRNO_REASONS[code];
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') ? 'tls_failed' : undefined;
}

/** The reason of a connection-level failure that carries no SQLSTATE and no error code. */
function uncodedReason(mark: ConnectMark | undefined): ConnectionFailureReason {
  if (mark === undefined) return 'server_closed';
  if (mark.timedOut) return 'timeout';
  switch (mark.stage) {
    case 'socket':
      return 'unreachable';
    case 'tls':
      return 'server_without_tls';
    case 'auth':
      return 'auth_failed';
    case 'startup':
      return 'server_closed';
    default:
      return 'unknown';
  }
}

/** Derives a field name from a constraint named by the `<table>_<field>_key` convention. */
export function fieldFromConstraint(constraint: string | undefined, table: string | undefined): string {
  if (constraint === undefined) return 'unknown';
  let name = constraint;
  if (table !== undefined && name.startsWith(`${table}_`)) name = name.slice(table.length + 1);
  if (name === 'pkey') return 'id';
  return name.replace(/(_lower)?(_key|_ukey|_idx|_uniq)$/, '') || constraint;
}

function attachDriverError(mapped: CarebaseError, original: unknown): CarebaseError {
  Object.defineProperty(mapped, DRIVER_ERROR, { value: original, enumerable: false });
  return mapped;
}

function mapDatabaseError(error: PgErrorLike & Error, mark: ConnectMark | undefined): CarebaseError {
  const code = error.code ?? '';
  const cause = new DriverErrorSummary(error);
  const details = { constraint: error.constraint, table: error.table, column: error.column };
  switch (code) {
    case '23505':
      return new ConflictError(fieldFromConstraint(error.constraint, error.table), error.constraint, {
        cause,
      });
    case '23503':
      return new ConstraintViolationError('foreign_key', details, { cause });
    case '23514':
      return new ConstraintViolationError('check', details, { cause });
    case '23502':
      return new ConstraintViolationError('not_null', details, { cause });
    case '23P01':
      return new ConstraintViolationError('exclusion', details, { cause });
    case '23001':
      return new ConstraintViolationError('restrict', details, { cause });
    case '57014':
      return new StatementTimeoutError({ cause });
    case '40001':
    case '40P01':
      return new SerializationFailureError(code, { cause });
    case '53300':
      return new ConnectionError('the server has no free connection slots (too_many_connections)', {
        cause,
        reason: 'too_many_connections',
      });
    case '3D000':
      return new ConnectionError('the database does not exist (database_missing)', {
        cause,
        reason: 'database_missing',
      });
    case '57P03':
      return new ConnectionError('the server is not accepting connections yet (server_not_ready)', {
        cause,
        reason: 'server_not_ready',
      });
  }
  const klass = code.slice(0, 2);
  if (code === '08P01' && mark?.stage === 'startup') {
    // Refused before authentication for a protocol reason: what a transaction pooler (PgBouncer's
    // "unsupported startup parameter") answers to the `statement_timeout` startup parameter.
    return new ConnectionError(
      "the connection was refused at startup (SQLSTATE 08P01, pooler_refused_startup_parameter): behind a transaction pooler, set pooler: 'transaction'",
      { cause, reason: 'pooler_refused_startup_parameter' },
    );
  }
  if (klass === '08' || code === '57P01' || code === '57P02') {
    return new ConnectionError(`the server closed the connection (SQLSTATE ${code}, server_closed)`, {
      cause,
      reason: 'server_closed',
    });
  }
  if (klass === '28') {
    // 28000: no pg_hba.conf entry allows this connection; without TLS, the usual cause is a
    // server that accepts only encrypted connections.
    const reason = code === '28000' && mark?.tls === false ? 'tls_required_by_server' : 'auth_failed';
    return new ConnectionError(`the server refused the connection (SQLSTATE ${code}, ${reason})`, {
      cause,
      reason,
    });
  }
  if (error.severity === 'FATAL' || error.severity === 'PANIC') {
    // Any other fatal error ends the session (e.g. 25P03 idle_in_transaction_session_timeout).
    return new ConnectionError(`the server closed the connection (SQLSTATE ${code}, server_closed)`, {
      cause,
      reason: 'server_closed',
    });
  }
  if (klass === '22') {
    const field = error.column ?? 'input';
    return new ValidationError(
      `the database rejected the value of ${field} (SQLSTATE ${code})`,
      [{ path: [field], message: `rejected by the database (SQLSTATE ${code})`, code: `sqlstate_${code}` }],
      { cause },
    );
  }
  if (code === '42P01' || code === '3F000') {
    return new QueryError(
      `a carebase table or schema is missing (SQLSTATE ${code}); run migrations first`,
      code,
      { cause },
    );
  }
  if (code === '42501') {
    return new QueryError(
      'permission denied (SQLSTATE 42501): the connected role lacks a privilege this call needs; owner-only calls (audit retention, migrations) run as the owner, and grantAppRole() / `carebase roles grant` gives the app role the rest',
      code,
      { cause },
    );
  }
  return new QueryError(`database error (SQLSTATE ${code})`, code, { cause });
}

/**
 * Converts anything thrown by pg, pg-pool, kysely or the network into a {@link CarebaseError}.
 * Carebase errors pass through unchanged. Call it where the error is caught inside an `async`
 * function so the new error's stack includes the caller's await chain.
 */
export function toCarebaseError(error: unknown): CarebaseError {
  if (error instanceof CarebaseError) return error;
  if (typeof error !== 'object' || error === null) {
    return new QueryError('unexpected non-error value thrown by the driver');
  }
  const poolMark = poolMarks.get(error);
  if (poolMark?.kind === 'pool_ended') return attachDriverError(new ClosedError(), error);
  if (poolMark?.kind === 'pool_wait_timeout') {
    return attachDriverError(new PoolTimeoutError(poolMark.timeoutMs), error);
  }
  const connectMark = connectMarkOf(error);
  if (isPgDatabaseError(error)) return attachDriverError(mapDatabaseError(error, connectMark), error);
  const errno = (error as { code?: unknown }).code;
  const errnoMapped = typeof errno === 'string' ? errnoReason(errno) : undefined;
  if (errnoMapped !== undefined) {
    const what =
      errnoMapped === 'unreachable' || errnoMapped === 'timeout'
        ? 'could not reach the server'
        : connectMark === undefined
          ? 'the connection to the server failed'
          : 'could not connect to the server';
    return attachDriverError(
      new ConnectionError(`${what} (${errno}, ${errnoMapped})`, { reason: errnoMapped }),
      error,
    );
  }
  if (connectMark !== undefined) {
    const reason = uncodedReason(connectMark);
    return attachDriverError(
      new ConnectionError(`could not connect to the server (${reason})`, { reason }),
      error,
    );
  }
  if (poolMark?.kind === 'connection_lost') {
    return attachDriverError(
      new ConnectionError('the connection to the server was lost (server_closed)', {
        reason: 'server_closed',
      }),
      error,
    );
  }
  // Not a server error: pg's own client errors and kysely's errors carry no values, so keep them.
  return attachDriverError(new QueryError('unexpected driver error', undefined, { cause: error }), error);
}

/**
 * True for a statement cancelled because it waited longer than `lock_timeout` for a lock
 * (SQLSTATE 55P03, lock_not_available): nothing it did remains, so it may be retried.
 */
export function isLockNotAvailable(error: unknown): boolean {
  return error instanceof QueryError && error.sqlState === '55P03';
}

/** SQLSTATEs that a transaction may safely retry from the start. */
export function isRetryableTransactionError(error: unknown): error is SerializationFailureError {
  return error instanceof SerializationFailureError;
}

/**
 * SQLSTATEs after which a statement's outcome is unknown (the connection or the server went away,
 * possibly after the commit): a group statement that failed so is not run again, which could write
 * its rows twice. (57014, a cancelled statement, rolled back: its outcome is known.)
 */
const UNKNOWN_OUTCOME = /^(08|53|58|XX|57P)/;

/**
 * Whether a failed statement certainly wrote nothing: the server refused or cancelled it. The
 * group writers (audit entries, chat appends) run each member alone again only then.
 */
export function refusedByServer(error: unknown): boolean {
  // A lost connection (even one the server announced, e.g. a FATAL error) leaves the outcome unknown.
  if (isCarebaseError(error, 'CONNECTION_FAILED')) return false;
  // Every error the server reported carries its SQLSTATE in a DriverErrorSummary cause;
  // connection, pool and client-side errors do not.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof DriverErrorSummary && cause.code !== undefined && !UNKNOWN_OUTCOME.test(cause.code);
}
