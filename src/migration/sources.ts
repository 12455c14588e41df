import { carebaseMigrations } from './library.js';
import type { MigrationSource } from './types.js';

/**
 * The namespace of carebase's own migrations in `schema_migrations`.
 *
 * @example
 * ```ts
 * import { LIBRARY_NAMESPACE, migrationStatus } from 'carebase/migration';
 * const statuses = await migrationStatus(cb.db);
 * const own = statuses.find((status) => status.namespace === LIBRARY_NAMESPACE);
 * console.log(`${own?.pending.length} carebase migrations pending`);
 * ```
 */
export const LIBRARY_NAMESPACE = 'carebase';

/**
 * The sources a run uses: carebase's own migrations first, then `sources` in the order given,
 * unless `includeLibrary` is false (then exactly `sources`). A source in `sources` with the
 * library's namespace (`carebaseMigrations` itself, or its copy from the other module format) is
 * not run twice: the library keeps its place at the front.
 *
 * @example
 * ```ts
 * import { fileMigrations, withLibrary } from 'carebase/migration';
 * const app = fileMigrations('./migrations', { namespace: 'app' });
 * console.log(withLibrary([app]).map((source) => source.namespace)); // ['carebase', 'app']
 * ```
 */
export function withLibrary(
  sources: readonly MigrationSource[] | undefined,
  includeLibrary = true,
): readonly MigrationSource[] {
  const given = sources ?? [];
  if (!includeLibrary) return [...given];
  return [carebaseMigrations, ...given.filter((source) => source.namespace !== LIBRARY_NAMESPACE)];
}
