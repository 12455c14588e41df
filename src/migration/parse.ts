import { MigrationError } from '../errors/errors.js';
import { migrationChecksum } from './checksum.js';
import type { MigrationDefinition } from './types.js';

const NO_TRANSACTION = /^--\s*carebase:no-transaction\s*$/;
const DOWN_MARKER = /^--\s*carebase:down\s*$/m;

/**
 * Parses a migration file: an optional first line `-- carebase:no-transaction`, the up SQL, and
 * an optional down section after a line `-- carebase:down`.
 *
 * @example
 * ```ts
 * import { parseMigration } from 'carebase/migration';
 * const migration = parseMigration('0001_notes', 'create table notes (id int);\n-- carebase:down\ndrop table notes;');
 * ```
 */
export function parseMigration(name: string, text: string): MigrationDefinition {
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const firstLine = normalized.split('\n').find((line) => line.trim() !== '') ?? '';
  const transaction = !NO_TRANSACTION.test(firstLine.trim());
  const parts = normalized.split(DOWN_MARKER);
  if (parts.length > 2) {
    throw new MigrationError(`migration ${name} has more than one "-- carebase:down" marker`, {
      migration: name,
    });
  }
  const up = (parts[0] ?? '').trim();
  const downText = parts[1]?.trim();
  if (up === '') throw new MigrationError(`migration ${name} has no up SQL`, { migration: name });
  return {
    name,
    up,
    down: downText === undefined || downText === '' ? undefined : downText,
    transaction,
    checksum: migrationChecksum(text),
  };
}
