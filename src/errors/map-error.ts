import {
  CarebaseError,
  ClosedError,
  ConflictError,
  ConnectionError,
  ConstraintViolationError,
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

/** Errors raised because the connection itself was lost; marked by the pool adapter. */
const connectionLoss = new WeakSet<object>();
/** Errors raised while waiting for a pooled connection (pool saturated); marked by the pool adapter. */
const poolWaitTimeouts = new WeakMap<object, number>();
/** Errors raised because the pool was already ended; marked by the pool adapter. */
const poolEnded = new WeakSet<object>();

/** Marks `error` as a lost-connection error (the client emitted `error`/`end` during the call). */
export function markConnectionLoss(error: unknown): void {
  if (typeof error === 'object' && error !== null) connectionLoss.add(error);
}

/** Marks `error` as a pool acquisition timeout after waiting `timeoutMs`. */
export function markPoolWaitTimeout(error: unknown, timeoutMs: number): void {
  if (typeof error === 'object' && error !== null) poolWaitTimeouts.set(error, timeoutMs);
}

/** Marks `error` as raised by a pool that had already been ended. */
export function markPoolEnded(error: unknown): void {
  if (typeof error === 'object' && error !== null) poolEnded.add(error);
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

const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT',
]);

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

function mapDatabaseError(error: PgErrorLike & Error): CarebaseError {
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
      return new ConnectionError('the server has no free connection slots', { cause });
    case '3D000':
      return new ConnectionError('the database does not exist', { cause });
  }
  const klass = code.slice(0, 2);
  if (klass === '08' || code === '57P01' || code === '57P02' || code === '57P03') {
    return new ConnectionError(`the server closed the connection (SQLSTATE ${code})`, { cause });
  }
  if (klass === '28') return new ConnectionError(`authentication failed (SQLSTATE ${code})`, { cause });
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
  if (poolEnded.has(error)) return attachDriverError(new ClosedError(), error);
  const waited = poolWaitTimeouts.get(error);
  if (waited !== undefined) return attachDriverError(new PoolTimeoutError(waited), error);
  if (isPgDatabaseError(error)) return attachDriverError(mapDatabaseError(error), error);
  const errno = (error as { code?: unknown }).code;
  if (typeof errno === 'string' && SOCKET_ERROR_CODES.has(errno)) {
    return attachDriverError(new ConnectionError(`could not reach the server (${errno})`), error);
  }
  if (connectionLoss.has(error)) {
    return attachDriverError(new ConnectionError('the connection to the server was lost'), error);
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
