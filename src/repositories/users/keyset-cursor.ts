import { ValidationError } from '../../errors/errors.js';
import { isTimestampText, isUuidText } from '../../validation/ids.js';

/**
 * A keyset position `(created_at, id)`. `createdAt` is PostgreSQL's own text form of the
 * timestamptz (microsecond precision), so the next page starts exactly after the last row even
 * when several rows share a millisecond.
 */
export interface KeysetPosition {
  readonly createdAt: string;
  readonly id: string;
}

/** Encodes a position as an opaque cursor string. */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; throws `ValidationError` at `cursor` otherwise. */
export function decodeCursor(cursor: string): KeysetPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      isTimestampText(value[0]) &&
      isUuidText(value[1])
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw new ValidationError('invalid cursor: not a cursor returned by a previous page', [
    { path: ['cursor'], message: 'not a cursor returned by a previous page', code: 'invalid_cursor' },
  ]);
}

/**
 * Turns `limit + 1` rows fetched in keyset order into a page: the first `limit` rows mapped with
 * `map`, and a cursor after the last of them when the extra row shows there is more.
 */
export function toKeysetPage<R extends { readonly created_at_text: string; readonly id: string }, T>(
  rows: readonly R[],
  limit: number,
  map: (row: R) => T,
): { items: T[]; nextCursor: string | undefined } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(map),
    nextCursor:
      rows.length > limit && last !== undefined
        ? encodeCursor({ createdAt: last.created_at_text, id: last.id })
        : undefined,
  };
}
