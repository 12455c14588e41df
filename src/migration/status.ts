import { parseInput } from '../validation/parse-input.js';
import { type MigrationTarget, withConnection } from './connection.js';
import { findDrift } from './drift.js';
import { loadSorted } from './load.js';
import { MigrateOptionsSchema, type MigrationRunOptions } from './options.js';
import { withLibrary } from './sources.js';
import { readApplied } from './tracking-table.js';
import type { MigrationSource } from './types.js';

/**
 * The state of one source's migrations in a database.
 *
 * @example
 * ```ts
 * import { fileMigrations, migrationStatus, type SourceStatus } from 'carebase/migration';
 * const sources = [fileMigrations('./migrations', { namespace: 'app' })]; // carebase's own come first
 * const statuses: SourceStatus[] = await migrationStatus(cb.db, { sources });
 * for (const s of statuses) {
 *   console.log(
 *     `${s.namespace}: ${s.applied.length} applied, ${s.pending.length} pending, ${s.changed.length} edited`,
 *   );
 * }
 * ```
 */
export interface SourceStatus {
  readonly namespace: string;
  /** Applied migrations, by name, with when they were applied. */
  readonly applied: readonly { readonly name: string; readonly appliedAt: Date }[];
  /** Migrations in the source that are not applied yet, in order. */
  readonly pending: readonly string[];
  /** Applied migrations whose normalized text has changed since. */
  readonly changed: readonly string[];
  /** Applied migrations the source no longer has. */
  readonly missing: readonly string[];
}

/**
 * Reports, per source (carebase's own first, then `sources`, unless `includeLibrary` is false),
 * which migrations are applied, pending, changed since applied, or missing from the source. Reads only; takes no lock and creates nothing (a database never migrated
 * reports everything pending).
 *
 * Throws `ValidationError` for bad options, a `ConnectionError` when the database is unreachable.
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
  options: Pick<MigrationRunOptions, 'sources' | 'includeLibrary' | 'schema'> = {},
): Promise<SourceStatus[]> {
  parseInput(MigrateOptionsSchema, options, 'migration status options');
  const sources = withLibrary(options.sources, options.includeLibrary);
  const schema = options.schema ?? 'carebase';
  const loaded = await Promise.all(
    sources.map(async (source) => ({ source, definitions: await loadSorted(source) })),
  );
  return withConnection(target, async (connection) => {
    const statuses: SourceStatus[] = [];
    for (const { source, definitions } of loaded) {
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

/**
 * How many migrations of `sources` are not in `applied` (`namespace/name` keys), e.g. read by
 * `cb.health()` in the same statement as its latency probe. Reads the sources, not the database.
 */
export async function countPendingMigrations(
  sources: readonly MigrationSource[],
  applied: ReadonlySet<string>,
): Promise<number> {
  let pending = 0;
  for (const source of sources) {
    for (const definition of await loadSorted(source)) {
      if (!applied.has(`${source.namespace}/${definition.name}`)) pending++;
    }
  }
  return pending;
}
