import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MigrationError } from '../errors/errors.js';
import { CODE_MIGRATION_EXTENSIONS, loadCodeMigration } from './code-migration.js';
import { parseMigration } from './parse.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/**
 * Options of {@link fileMigrations}.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, type FileMigrationsOptions, fileMigrations } from 'carebase/migration';
 * // Warn about an edited migration during local development; fail everywhere else.
 * const options: FileMigrationsOptions = {
 *   namespace: 'app',
 *   onDrift: process.env.NODE_ENV === 'development' ? 'warn' : 'error',
 * };
 * await cb.migrate({ sources: [carebaseMigrations, fileMigrations('./migrations', options)] });
 * ```
 */
export interface FileMigrationsOptions {
  /** Separates this folder's history from carebase's and other folders'. Required. */
  readonly namespace: string;
  /** What to do when an applied migration was edited or deleted. @default 'error' */
  readonly onDrift?: 'error' | 'warn';
}

/**
 * A host app's own migrations: every `*.sql` file in `dir` (not recursive), named by the file
 * name without `.sql`, ordered by name (use a sortable prefix such as `0001_` or a timestamp).
 * Each file may start with `-- carebase:no-transaction` and may hold a `-- carebase:down` section.
 * Code migrations (`.js`, `.mjs`, `.ts`, `.mts` files whose name starts with a digit) export `up(db)`, optionally `down(db)` and
 * `transaction = false`; `db.query(text, values)` runs on the migration's connection and
 * transaction. The folder is read (and code migrations imported) when a run starts, not at import.
 *
 * Throws `MigrationError` for an invalid namespace; a run throws `MigrationError` when the folder
 * cannot be read or a code migration cannot be loaded.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, fileMigrations, migrate } from 'carebase/migration';
 * await migrate(cb.db, { sources: [carebaseMigrations, fileMigrations('./migrations', { namespace: 'app' })] });
 * ```
 */
export function fileMigrations(dir: string, options: FileMigrationsOptions): MigrationSource {
  if (!/^[a-z][a-z0-9_.-]{0,62}$/.test(options.namespace)) {
    throw new MigrationError('a migration namespace must be a lower-case name (letters, digits, _ . -)');
  }
  const folder = resolve(dir);
  return Object.freeze({
    namespace: options.namespace,
    onDrift: options.onDrift ?? 'error',
    async load(): Promise<readonly MigrationDefinition[]> {
      let entries: string[];
      try {
        entries = await readdir(folder);
      } catch (error) {
        throw new MigrationError(
          `cannot read the migrations folder of namespace ${options.namespace}`,
          {},
          { cause: error },
        );
      }
      const definitions: MigrationDefinition[] = [];
      for (const file of entries.sort()) {
        if (file.endsWith('.sql')) {
          definitions.push(
            parseMigration(file.slice(0, -'.sql'.length), await readFile(join(folder, file), 'utf8')),
          );
          continue;
        }
        const extension = CODE_MIGRATION_EXTENSIONS.find((ext) => file.endsWith(ext));
        // Only numbered code files are migrations, so helpers (utils.ts, *.d.ts) may sit beside them.
        if (extension === undefined || !/^\d/.test(file) || /\.d\.m?ts$/.test(file)) continue;
        definitions.push(await loadCodeMigration(file.slice(0, -extension.length), join(folder, file)));
      }
      return definitions;
    },
  });
}
