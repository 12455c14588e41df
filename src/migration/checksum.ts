import { createHash } from 'node:crypto';

/**
 * Version of the normalization and hash below. Stored next to each checksum so a future change of
 * algorithm can recompute instead of reporting every applied migration as edited.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { CHECKSUM_ALGORITHM, migrationChecksum } from 'carebase/migration';
 * // Which applied migrations of the app were edited since (what migrationStatus reports as changed).
 * const applied = await cb.db
 *   .selectFrom('schema_migrations')
 *   .select(['name', 'checksum', 'checksum_algorithm'])
 *   .where('namespace', '=', 'app')
 *   .execute();
 * for (const row of applied) {
 *   if (row.checksum_algorithm !== CHECKSUM_ALGORITHM) continue; // recorded by another algorithm version
 *   const text = await readFile(`migrations/${row.name}.sql`, 'utf8');
 *   if (migrationChecksum(text) !== row.checksum)
 *     console.warn(`${row.name} was edited after it was applied`);
 * }
 * ```
 */
export const CHECKSUM_ALGORITHM = 1;

/** A `-- carebase:lint-ignore RULE...` comment, to the end of its line. */
const LINT_DIRECTIVE = /[ \t]*--[ \t]*carebase:lint-ignore\b.*$/;

/**
 * Normalizes migration text so that edits which change nothing a database would see do not count
 * as drift: CRLF and CR line endings become LF, trailing whitespace on each line is removed, a
 * leading byte-order mark and trailing blank lines are dropped, and so are
 * `-- carebase:lint-ignore ...` comments (a line holding only one disappears), so silencing a
 * lint finding in an applied migration is not an edit.
 *
 * @example
 * ```ts
 * import { normalizeMigrationText } from 'carebase/migration';
 * // A Windows checkout of the same file normalizes to the same text, so it is not reported as drift.
 * console.log(
 *   normalizeMigrationText('\uFEFFcreate table notes (id int);  \r\n\r\n') ===
 *     'create table notes (id int);',
 * ); // true
 * ```
 */
export function normalizeMigrationText(text: string): string {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .flatMap((line) => {
      const stripped = line.replace(LINT_DIRECTIVE, '');
      if (stripped !== line && stripped.trim() === '') return [];
      return [stripped.replace(/[ \t]+$/, '')];
    })
    .join('\n')
    .replace(/\n+$/, '');
}

/**
 * Hex SHA-256 of the normalized text.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { migrationChecksum } from 'carebase/migration';
 * // The checksum schema_migrations records for this file; line endings and trailing spaces do not count.
 * console.log(migrationChecksum(readFileSync('migrations/0001_notes.sql', 'utf8')));
 * ```
 */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(normalizeMigrationText(text), 'utf8').digest('hex');
}
