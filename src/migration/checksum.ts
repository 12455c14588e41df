import { createHash } from 'node:crypto';

/**
 * Version of the normalization and hash below. Stored next to each checksum so a future change of
 * algorithm can recompute instead of reporting every applied migration as edited.
 */
export const CHECKSUM_ALGORITHM = 1;

/**
 * Normalizes migration text so that edits which change nothing a database would see do not count
 * as drift: CRLF and CR line endings become LF, trailing whitespace on each line is removed, a
 * leading byte-order mark and trailing blank lines are dropped.
 */
export function normalizeMigrationText(text: string): string {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/, ''))
    .join('\n')
    .replace(/\n+$/, '');
}

/** Hex SHA-256 of the normalized text. */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(normalizeMigrationText(text), 'utf8').digest('hex');
}
