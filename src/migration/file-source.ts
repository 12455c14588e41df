import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MigrationError } from '../errors/errors.js';
import { parseMigration } from './parse.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/** Options of {@link fileMigrations}. */
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
 * The folder is read when a run starts, not at import.
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
      const files = entries.filter((entry) => entry.endsWith('.sql')).sort();
      return Promise.all(
        files.map(async (file) =>
          parseMigration(file.slice(0, -'.sql'.length), await readFile(join(folder, file), 'utf8')),
        ),
      );
    },
  });
}
