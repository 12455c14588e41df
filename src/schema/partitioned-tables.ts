import type { Generated } from 'kysely';

/**
 * `partitioned_tables`: host tables registered for monthly partitions and retention
 * (see `cb.partitionedTable()`); written only by the owner's `partitioned_table_register()`.
 *
 * @example
 * ```ts
 * // Which host tables carebase keeps partitioned, and their retention.
 * const registered = await cb.db
 *   .selectFrom('partitioned_tables')
 *   .select(['table_schema', 'table_name', 'retention_months'])
 *   .execute();
 * ```
 */
export interface PartitionedTablesTable {
  table_schema: string;
  table_name: string;
  column_name: string;
  retention_months: number | null;
  months_ahead: number;
  registered_at: Generated<Date>;
  updated_at: Generated<Date>;
}
