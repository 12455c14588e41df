import m0001 from '../../migrations/0001_foundation.sql';
import m0002 from '../../migrations/0002_users.sql';
import m0003 from '../../migrations/0003_sessions.sql';
import m0004 from '../../migrations/0004_audit.sql';
import m0005 from '../../migrations/0005_chat.sql';
import m0006 from '../../migrations/0006_analytics.sql';
import m0007 from '../../migrations/0007_analytics_dirty_race.sql';
import m0008 from '../../migrations/0008_least_privilege.sql';
import m0020 from '../../migrations/0020_audit_seal_cost.sql';
import { parseMigration } from './parse.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/**
 * The library's own migrations, embedded into the build as text: nothing reads `migrations/` at
 * run time, so bundlers (Next.js, esbuild) cannot lose them. Every file in `migrations/` must be
 * listed here; a test fails otherwise.
 */
const LIBRARY_MIGRATION_FILES: readonly (readonly [name: string, text: string])[] = [
  ['0001_foundation', m0001],
  ['0002_users', m0002],
  ['0003_sessions', m0003],
  ['0004_audit', m0004],
  ['0005_chat', m0005],
  ['0006_analytics', m0006],
  ['0007_analytics_dirty_race', m0007],
  ['0008_least_privilege', m0008],
  ['0020_audit_seal_cost', m0020],
];

let parsed: readonly MigrationDefinition[] | undefined;

/** The names of the library's migrations, in order. */
export function libraryMigrationNames(): readonly string[] {
  return LIBRARY_MIGRATION_FILES.map(([name]) => name);
}

/**
 * carebase's own migrations as a source (namespace `carebase`). Its SQL runs with `search_path`
 * set to the configured carebase schema.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, migrate } from 'carebase/migration';
 * await migrate(cb.db, { sources: [carebaseMigrations] });
 * ```
 */
export const carebaseMigrations: MigrationSource = Object.freeze({
  namespace: 'carebase',
  useCarebaseSchema: true,
  onDrift: 'error' as const,
  async load(): Promise<readonly MigrationDefinition[]> {
    parsed ??= LIBRARY_MIGRATION_FILES.map(([name, text]) => parseMigration(name, text));
    return parsed;
  },
});
