import { CarebaseError, MigrationError } from '../errors/errors.js';
import { CHECKSUM_ALGORITHM } from './checksum.js';
import type { SqlConnection } from './connection.js';
import { type LockPolicy, lockTimeoutFor, withLockRetries } from './lock-wait.js';
import { splitStatements } from './split-statements.js';
import { quoteSchema, recordApplied, recordRolledBack } from './tracking-table.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/** What {@link executeMigration} runs. */
export interface ExecuteMigrationOptions {
  readonly schema: string;
  readonly source: MigrationSource;
  readonly definition: MigrationDefinition;
  readonly direction: 'up' | 'down';
  readonly policy: LockPolicy;
}

/**
 * Runs one migration's SQL (up or down) in its transaction mode on the lock-holding connection,
 * and records the outcome in `schema_migrations`. Returns the elapsed milliseconds.
 *
 * Every statement runs with the policy's `lock_timeout` and `statement_timeout`. Transactional
 * (default): SQL and bookkeeping commit together or not at all, so a failure leaves the database
 * exactly as before; a lock timeout rolls the whole migration back and tries it again. With
 * `-- carebase:no-transaction`, each statement runs on its own (autocommit), a lock timeout
 * retries that statement, and the bookkeeping follows the last one: a failure records nothing,
 * but statements before the failing one stay applied (write such migrations as one statement,
 * or idempotently, e.g. `CREATE INDEX CONCURRENTLY IF NOT EXISTS`).
 *
 * Throws `LockWaitExhausted` when every attempt timed out waiting for a lock.
 */
export async function executeMigration(
  connection: SqlConnection,
  options: ExecuteMigrationOptions,
): Promise<number> {
  const { schema, source, definition, direction, policy } = options;
  const q = quoteSchema(schema);
  const text = direction === 'up' ? definition.up : (definition.down ?? '');
  const useSchema = source.useCarebaseSchema === true;
  const started = performance.now();
  const record = async (): Promise<number> => {
    const executionMs = Math.round(performance.now() - started);
    if (direction === 'up') {
      await recordApplied(connection, schema, {
        namespace: source.namespace,
        name: definition.name,
        checksum: definition.checksum,
        algorithm: CHECKSUM_ALGORITHM,
        executionMs,
      });
    } else {
      await recordRolledBack(connection, schema, source.namespace, definition.name);
    }
    return executionMs;
  };
  if (definition.transaction) {
    return withLockRetries(policy, async () => {
      // One round trip to open the transaction and scope its settings to it.
      await connection.query(
        `begin; set local statement_timeout = ${policy.statementTimeoutMs}; ` +
          `set local lock_timeout = ${policy.lockTimeoutMs}${useSchema ? `; set local search_path to ${q}` : ''}`,
      );
      try {
        await runBody(connection, definition, direction, text, undefined);
        const elapsed = await record();
        await connection.query('commit');
        return elapsed;
      } catch (error) {
        await connection.query('rollback').catch(() => {});
        throw error;
      }
    });
  }
  // Outside a transaction: session settings, reset afterwards; one statement per round trip,
  // because a multi-statement query string is an implicit transaction.
  await connection.query(
    `set statement_timeout = ${policy.statementTimeoutMs}${useSchema ? `; set search_path to ${q}` : ''}`,
  );
  try {
    await runBody(connection, definition, direction, text, policy);
  } finally {
    await connection.query('reset search_path; reset statement_timeout; reset lock_timeout').catch(() => {});
  }
  return record();
}

async function runBody(
  connection: SqlConnection,
  definition: MigrationDefinition,
  direction: 'up' | 'down',
  text: string,
  /** Set outside a transaction: each statement gets its own lock timeout and retries. */
  perStatement: LockPolicy | undefined,
): Promise<void> {
  if (definition.code !== undefined) {
    const fn = direction === 'up' ? definition.code.up : definition.code.down;
    try {
      if (perStatement !== undefined) {
        await connection.query(`set lock_timeout = ${perStatement.lockTimeoutMs}`);
      }
      if (fn !== undefined) await fn(connection);
    } catch (error) {
      if (error instanceof CarebaseError) throw error;
      // The host's own code threw: say so, keep its error as the cause.
      throw new MigrationError(
        `code migration ${definition.name} threw ${error instanceof Error ? error.name : 'a non-error value'}`,
        { migration: definition.name },
        { cause: error },
      );
    }
    return;
  }
  if (perStatement === undefined) {
    await connection.query(text);
    return;
  }
  for (const statement of splitStatements(text)) {
    await connection.query(`set lock_timeout = ${lockTimeoutFor(statement, perStatement)}`);
    await withLockRetries(perStatement, () => connection.query(statement));
  }
}
