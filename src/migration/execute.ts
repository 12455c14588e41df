import { CHECKSUM_ALGORITHM } from './checksum.js';
import type { SqlConnection } from './connection.js';
import { splitStatements } from './split-statements.js';
import { quoteSchema, recordApplied, recordRolledBack } from './tracking-table.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/** What {@link executeMigration} runs. */
export interface ExecuteMigrationOptions {
  readonly schema: string;
  readonly source: MigrationSource;
  readonly definition: MigrationDefinition;
  readonly direction: 'up' | 'down';
}

/**
 * Runs one migration's SQL (up or down) in its transaction mode on the lock-holding connection,
 * and records the outcome in `schema_migrations`. Returns the elapsed milliseconds.
 *
 * Transactional (default): SQL and bookkeeping commit together or not at all, so a failure
 * leaves the database exactly as before. With `-- carebase:no-transaction`, each statement runs
 * on its own (autocommit) and the bookkeeping follows the last one: a failure records nothing,
 * but statements before the failing one stay applied (write such migrations as one statement,
 * or idempotently, e.g. `CREATE INDEX CONCURRENTLY IF NOT EXISTS`).
 */
export async function executeMigration(
  connection: SqlConnection,
  options: ExecuteMigrationOptions,
): Promise<number> {
  const { schema, source, definition, direction } = options;
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
    // One round trip to open the transaction and scope its settings to it.
    await connection.query(
      `begin; set local statement_timeout = 0${useSchema ? `; set local search_path to ${q}` : ''}`,
    );
    try {
      await connection.query(text);
      const elapsed = await record();
      await connection.query('commit');
      return elapsed;
    } catch (error) {
      await connection.query('rollback').catch(() => {});
      throw error;
    }
  }
  // Outside a transaction: session settings, reset afterwards; one statement per round trip,
  // because a multi-statement query string is an implicit transaction.
  await connection.query(`set statement_timeout = 0${useSchema ? `; set search_path to ${q}` : ''}`);
  try {
    for (const statement of splitStatements(text)) await connection.query(statement);
  } finally {
    await connection.query('reset search_path; reset statement_timeout').catch(() => {});
  }
  return record();
}
