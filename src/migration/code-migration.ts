import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { MigrationError } from '../errors/errors.js';
import { migrationChecksum } from './checksum.js';
import type { MigrationCode, MigrationDb, MigrationDefinition } from './types.js';

/** File extensions `fileMigrations` loads as code migrations. */
export const CODE_MIGRATION_EXTENSIONS = ['.js', '.mjs', '.ts', '.mts'] as const;

/**
 * Loads a host code migration: a module exporting `up(db)`, optionally `down(db)`, and optionally
 * `transaction = false`. Its checksum is that of the file's text, so editing it is drift like an
 * SQL file. `.ts`/`.mts` need a runtime that loads TypeScript (Node >= 22.18 strips types).
 *
 * Throws `MigrationError` naming the migration when the module cannot be loaded or has no `up`.
 */
export async function loadCodeMigration(name: string, file: string): Promise<MigrationDefinition> {
  const text = await readFile(file, 'utf8');
  const checksum = migrationChecksum(text);
  let module: Record<string, unknown>;
  try {
    // The checksum in the URL makes an edited file load afresh instead of from the module cache.
    const url = `${pathToFileURL(file).href}?checksum=${checksum}`;
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new MigrationError(`cannot load code migration ${name}`, { migration: name }, { cause: error });
  }
  const exports = (typeof module.up === 'function' ? module : (module.default ?? {})) as Record<
    string,
    unknown
  >;
  const { up, down, transaction } = exports;
  if (typeof up !== 'function') {
    throw new MigrationError(`code migration ${name} does not export an up(db) function`, {
      migration: name,
    });
  }
  if (down !== undefined && typeof down !== 'function') {
    throw new MigrationError(`code migration ${name} exports a down that is not a function`, {
      migration: name,
    });
  }
  const code: MigrationCode = {
    up: (db: MigrationDb) => Promise.resolve((up as (db: MigrationDb) => unknown)(db)).then(() => {}),
    down:
      down === undefined
        ? undefined
        : (db: MigrationDb) => Promise.resolve((down as (db: MigrationDb) => unknown)(db)).then(() => {}),
  };
  return {
    name,
    up: `-- code migration ${name}`,
    down: down === undefined ? undefined : `-- code migration ${name} (down)`,
    transaction: transaction !== false,
    checksum,
    code,
  };
}
