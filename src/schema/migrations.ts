import type { ColumnType } from 'kysely';

/**
 * `schema_migrations`: one row per applied migration, per source namespace.
 *
 * @example
 * ```ts
 * const latest = await cb.db
 *   .selectFrom('schema_migrations')
 *   .select(['namespace', 'name', 'applied_at', 'execution_ms'])
 *   .orderBy('applied_at', 'desc')
 *   .limit(10)
 *   .execute();
 * ```
 */
export interface SchemaMigrationsTable {
  /** The source's namespace: `carebase` for the library's own, the host's chosen name otherwise. */
  namespace: string;
  /** The migration's name (its file name without `.sql`). */
  name: string;
  /** Hex SHA-256 of the normalized migration text (see `checksum_algorithm`). */
  checksum: string;
  /** Version of the normalization + hash algorithm that produced `checksum`. */
  checksum_algorithm: number;
  applied_at: ColumnType<Date, Date | string | undefined, never>;
  /** How long the migration took to apply, in milliseconds. */
  execution_ms: number;
}
