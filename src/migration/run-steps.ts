import { AbortError, CarebaseError, MigrationError, QueryError } from '../errors/errors.js';
import { DRIVER_ERROR, isLockNotAvailable, toCarebaseError } from '../errors/map-error.js';
import type { Logger } from '../logging/logger.js';
import type { SqlConnection } from './connection.js';
import { executeMigration } from './execute.js';
import {
  describeBlockers,
  findLockBlockers,
  type LockBlocker,
  type LockPolicy,
  LockWaitExhausted,
} from './lock-wait.js';
import type { MigrationPlanStep } from './options.js';
import type { MigrationDefinition, MigrationProgress, MigrationResult, MigrationSource } from './types.js';

/** Throws `AbortError` when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError({ cause: signal.reason });
}

/** The plan entry of one migration. */
export function planStep(
  source: MigrationSource,
  definition: MigrationDefinition,
  direction: 'up' | 'down',
): MigrationPlanStep {
  return {
    namespace: source.namespace,
    name: definition.name,
    direction,
    checksum: definition.checksum,
    transaction: definition.transaction,
  };
}

/**
 * Runs `definitions` of one source in order on the lock-holding connection, appending to
 * `results`. The first failure stops the run: it is recorded as `failed` in `results` and thrown
 * as a `MigrationError` naming the migration and carrying every result so far.
 */
export async function runSteps(
  connection: SqlConnection,
  options: {
    readonly schema: string;
    readonly source: MigrationSource;
    readonly definitions: readonly MigrationDefinition[];
    readonly direction: 'up' | 'down';
    readonly results: MigrationResult[];
    readonly signal: AbortSignal | undefined;
    readonly onProgress: ((progress: MigrationProgress) => void) | undefined;
    readonly logger: Logger;
    readonly policy: LockPolicy;
  },
): Promise<void> {
  const { schema, source, definitions, direction, results, logger, policy } = options;
  const total = definitions.length;
  for (const [index, definition] of definitions.entries()) {
    throwIfAborted(options.signal);
    const step = { namespace: source.namespace, name: definition.name, direction };
    options.onProgress?.({ ...step, phase: 'start', index, total });
    let durationMs: number;
    try {
      durationMs = await executeMigration(connection, { schema, source, definition, direction, policy });
    } catch (error) {
      const exhausted =
        error instanceof LockWaitExhausted
          ? error
          : isLockNotAvailable(error)
            ? new LockWaitExhausted(toCarebaseError(error), 1)
            : undefined;
      if (exhausted !== undefined) {
        throw await lockWaitFailure(connection, { ...options, definition, step, exhausted });
      }
      const mapped = error instanceof CarebaseError ? error : toCarebaseError(error);
      results.push({
        ...step,
        status: 'failed',
        durationMs: 0,
        error: {
          code: mapped.code,
          message: mapped.message,
          ...(mapped instanceof QueryError && mapped.sqlState !== undefined
            ? { sqlState: mapped.sqlState }
            : {}),
        },
      });
      const verb = direction === 'up' ? 'failed' : 'failed to roll back';
      throw new MigrationError(
        `migration ${source.namespace}/${definition.name} ${verb}: ${describe(mapped)}; ` +
          (definition.transaction
            ? 'it was rolled back and nothing was recorded'
            : 'it ran outside a transaction: statements before the failing one stay applied; nothing was recorded'),
        { migration: definition.name, results: [...results] },
        { cause: mapped },
      );
    }
    results.push({ ...step, status: direction === 'up' ? 'applied' : 'rolled-back', durationMs });
    logger.info(
      { ...step, durationMs },
      `carebase: migration ${direction === 'up' ? 'applied' : 'rolled back'}`,
    );
    options.onProgress?.({ ...step, phase: 'done', index, total });
  }
}

/** The `MigrationError` of a migration that never got its locks, naming the blocking sessions. */
async function lockWaitFailure(
  connection: SqlConnection,
  options: {
    readonly schema: string;
    readonly source: MigrationSource;
    readonly definition: MigrationDefinition;
    readonly direction: 'up' | 'down';
    readonly results: MigrationResult[];
    readonly policy: LockPolicy;
    readonly step: { namespace: string; name: string; direction: 'up' | 'down' };
    readonly exhausted: LockWaitExhausted;
  },
): Promise<MigrationError> {
  const { source, definition, direction, results, policy, step, exhausted } = options;
  const text = direction === 'up' ? definition.up : (definition.down ?? '');
  let blockers: LockBlocker[] = [];
  try {
    blockers = await findLockBlockers(
      connection,
      text,
      source.useCarebaseSchema === true ? options.schema : undefined,
    );
  } catch {
    // The diagnosis is best effort: the failure itself is reported either way.
  }
  const cause = exhausted.lastError;
  results.push({
    ...step,
    status: 'failed',
    durationMs: 0,
    error: {
      code: cause.code,
      message: cause.message,
      sqlState: '55P03',
      blockedBy: blockers.map((blocker) => ({ pid: blocker.pid, applicationName: blocker.applicationName })),
    },
  });
  return new MigrationError(
    `migration ${source.namespace}/${definition.name} could not get its locks within ` +
      `${policy.lockTimeoutMs} ms (lock_timeout) in ${exhausted.attempts} attempt${exhausted.attempts === 1 ? '' : 's'}: ` +
      `${describeBlockers(blockers)}; ` +
      (definition.transaction
        ? 'nothing was applied'
        : 'it ran outside a transaction: statements before the blocked one stay applied; nothing was recorded'),
    { migration: definition.name, results: [...results] },
    { cause },
  );
}

/**
 * SQLSTATE classes whose server message names only identifiers and tokens of the migration's own
 * SQL (syntax errors, undefined or duplicate objects, unsupported features, invalid transaction
 * state such as "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"). For these the
 * server's message is shown, because a developer cannot fix a migration without it. Messages of
 * other classes (data exceptions, constraint violations) can quote row values and are not copied.
 */
const SCHEMA_ERROR_CLASSES = new Set(['42', '0A', '25', '2B', '3F', '55']);

function describe(error: CarebaseError): string {
  if (!(error instanceof QueryError) || error.sqlState === undefined) return error.message;
  const driver = (error as unknown as Record<symbol, unknown>)[DRIVER_ERROR];
  if (SCHEMA_ERROR_CLASSES.has(error.sqlState.slice(0, 2)) && driver instanceof Error) {
    return `${driver.message} (SQLSTATE ${error.sqlState})`;
  }
  return error.message;
}
