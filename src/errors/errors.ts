/**
 * The carebase error taxonomy: one base class with a stable string `code`, and one subclass per
 * kind of failure a caller may want to handle differently.
 *
 * Messages never contain parameter values, passwords, tokens or message content: they name the
 * field, table or constraint instead. Tell errors apart by `code` (or `instanceof`), never by
 * message text.
 */

const BRAND = Symbol.for('carebase.error');

/** Every stable error code carebase throws. */
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
  | 'QUERY_FAILED';

/** Options accepted by every carebase error constructor. */
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

/** One problem found while validating input. `path` names the field; no values are included. */
export interface ValidationIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly code: string;
}

/** Input failed validation. Thrown before any SQL runs, so nothing was written. */
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

/** The requested row does not exist (or is not visible to the caller). */
export class NotFoundError extends CarebaseError {
  /** What was looked for, e.g. `user`, `conversation`. */
  readonly resource: string;

  constructor(resource: string, options: CarebaseErrorOptions = {}) {
    super('NOT_FOUND', `${resource} not found`, options);
    this.resource = resource;
  }
}

/** A unique constraint was violated. `field` says which (e.g. `email`), never the value. */
export class ConflictError extends CarebaseError {
  readonly field: string;
  readonly constraint: string | undefined;

  constructor(field: string, constraint?: string, options: CarebaseErrorOptions = {}) {
    super('CONFLICT', `a row with this ${field} already exists`, options);
    this.field = field;
    this.constraint = constraint;
  }
}

/** A check, foreign-key, not-null or exclusion constraint refused the write. */
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

/** The caller may not act on this resource (e.g. another user's conversation). */
export class ForbiddenError extends CarebaseError {
  readonly resource: string;

  constructor(resource: string, options: CarebaseErrorOptions = {}) {
    super('FORBIDDEN', `access to this ${resource} is not allowed`, options);
    this.resource = resource;
  }
}

/** Options or environment variables are invalid. `field` names the offending option. */
export class InvalidConfigurationError extends CarebaseError {
  readonly field: string;

  constructor(field: string, problem: string, options: CarebaseErrorOptions = {}) {
    super('INVALID_CONFIGURATION', `invalid configuration for ${field}: ${problem}`, options);
    this.field = field;
  }
}

/** A migration failed, drifted, or could not take its lock. */
export class MigrationError extends CarebaseError {
  /** The migration concerned, when there is one. */
  readonly migration: string | undefined;
  /** Per-migration results up to the failure, when a run was under way. */
  readonly results: readonly unknown[];

  constructor(
    message: string,
    details: { migration?: string | undefined; results?: readonly unknown[] } = {},
    options: CarebaseErrorOptions = {},
  ) {
    super('MIGRATION_FAILED', message, options);
    this.migration = details.migration;
    this.results = details.results ?? [];
  }
}

/** A backup, verification, restore or prune failed, or the PostgreSQL tools are unusable. */
export class BackupError extends CarebaseError {
  constructor(message: string, options: CarebaseErrorOptions = {}) {
    super('BACKUP_FAILED', message, options);
  }
}

/** The server could not be reached, refused the login, or dropped the connection. */
export class ConnectionError extends CarebaseError {
  constructor(message: string, options: CarebaseErrorOptions = {}) {
    super('CONNECTION_FAILED', message, options);
  }
}

/** No pooled connection became free within the connection timeout. */
export class PoolTimeoutError extends CarebaseError {
  constructor(timeoutMs: number, options: CarebaseErrorOptions = {}) {
    super('POOL_TIMEOUT', `no pooled connection became available within ${timeoutMs} ms`, options);
  }
}

/** A statement ran longer than `statement_timeout` (or was cancelled) and was stopped by the server. */
export class StatementTimeoutError extends CarebaseError {
  constructor(options: CarebaseErrorOptions = {}) {
    super(
      'STATEMENT_TIMEOUT',
      'statement cancelled by the server (statement timeout or cancel request)',
      options,
    );
  }
}

/** A serialization failure (40001) or deadlock (40P01) that outlived the transaction's retries. */
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

/** The carebase instance (or its pool) was closed before this call. */
export class ClosedError extends CarebaseError {
  constructor(options: CarebaseErrorOptions = {}) {
    super('CLOSED', 'this carebase instance has been closed', options);
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends CarebaseError {
  constructor(options: CarebaseErrorOptions = {}) {
    super('ABORTED', 'the operation was aborted', options);
  }
}

/** Any other database error. `sqlState` tells what happened; the message never carries values. */
export class QueryError extends CarebaseError {
  readonly sqlState: string | undefined;

  constructor(message: string, sqlState?: string, options: CarebaseErrorOptions = {}) {
    super('QUERY_FAILED', message, options);
    this.sqlState = sqlState;
  }
}

/** Maps each code to its class, for the type guard. */
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
}
