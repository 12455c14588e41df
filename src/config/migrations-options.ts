import { z } from 'zod';
import type { MigrationSource } from '../types/migration.js';

/**
 * Which migrations an instance owns: carebase's own (first, unless `includeLibrary` is false) and
 * the host's `sources`. `cb.migrate()` applies them, and `cb.health()` and `carebase doctor`
 * report them as pending or drifted.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * import { fileMigrations } from 'carebase/migration';
 * const cb = createCarebase({
 *   connectionString,
 *   migrations: { sources: [fileMigrations('./migrations', { namespace: 'app' })] },
 * });
 * await cb.migrate(); // carebase's, then the app's
 * ```
 */
export const MigrationsOptionsSchema = z.strictObject({
  /** Host migration sources, run after carebase's own. @default [] */
  sources: z
    .array(
      z.custom<MigrationSource>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          typeof (value as MigrationSource).namespace === 'string' &&
          typeof (value as MigrationSource).load === 'function',
        'must be a migration source (fileMigrations(...))',
      ),
    )
    .readonly()
    .optional(),
  /** Run carebase's own migrations first. @default true */
  includeLibrary: z.boolean().optional(),
});

/**
 * The `migrations` option as a host writes it.
 *
 * @example
 * ```ts
 * import type { MigrationsOptions } from 'carebase';
 * import { fileMigrations } from 'carebase/migration';
 * const migrations: MigrationsOptions = { sources: [fileMigrations('./db', { namespace: 'app' })] };
 * ```
 */
export interface MigrationsOptions {
  readonly sources?: readonly MigrationSource[] | undefined;
  readonly includeLibrary?: boolean | undefined;
}

/**
 * The `migrations` option after defaults.
 *
 * @example
 * ```ts
 * import type { ResolvedMigrationsOptions } from 'carebase';
 * const { sources }: ResolvedMigrationsOptions = cb.config.migrations;
 * console.log(sources.map((source) => source.namespace)); // the host's, without carebase's own
 * ```
 */
export interface ResolvedMigrationsOptions {
  /** The host's sources (carebase's own is added at run time unless `includeLibrary` is false). */
  readonly sources: readonly MigrationSource[];
  readonly includeLibrary: boolean;
}
