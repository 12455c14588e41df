import { type MigrationTarget, withConnection } from './connection.js';
import { carebaseMigrations } from './library.js';
import { findDrift, loadSorted, type MigrationRunOptions, quoteSchema, readApplied } from './runner.js';

/** The state of one source's migrations in a database. */
export interface SourceStatus {
  readonly namespace: string;
  /** Applied migrations, in order, with when they were applied. */
  readonly applied: readonly { readonly name: string; readonly appliedAt: Date }[];
  /** Migrations in the source that are not applied yet, in order. */
  readonly pending: readonly string[];
  /** Applied migrations whose text has changed since. */
  readonly changed: readonly string[];
  /** Applied migrations the source no longer has. */
  readonly missing: readonly string[];
}

/**
 * Reports, per source, which migrations are applied, pending, changed since applied, or missing
 * from the source. Reads only; takes no lock.
 *
 * @example
 * ```ts
 * import { migrationStatus } from 'carebase/migration';
 * const [carebase] = await migrationStatus(process.env.DATABASE_URL!);
 * console.log(carebase?.pending);
 * ```
 */
export async function migrationStatus<DB>(
  target: MigrationTarget<DB>,
  options: Pick<MigrationRunOptions, 'sources' | 'schema'> = {},
): Promise<SourceStatus[]> {
  const sources = options.sources ?? [carebaseMigrations];
  const schema = options.schema ?? 'carebase';
  quoteSchema(schema);
  return withConnection(target, async (connection) => {
    const statuses: SourceStatus[] = [];
    for (const source of sources) {
      const definitions = await loadSorted(source);
      const applied = await readApplied(connection, schema, source.namespace);
      const done = new Set(applied.map((row) => row.name));
      statuses.push({
        namespace: source.namespace,
        applied: applied.map((row) => ({ name: row.name, appliedAt: row.applied_at })),
        pending: definitions
          .filter((definition) => !done.has(definition.name))
          .map((definition) => definition.name),
        ...findDrift(definitions, applied),
      });
    }
    return statuses;
  });
}
