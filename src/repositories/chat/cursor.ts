import { ValidationError } from '../../errors/errors.js';

/** What a cursor points after: a sort key (exact timestamp text or rank text) and a row id. */
export interface CursorPosition {
  /** Which listing issued it: a history cursor cannot be replayed against search. */
  readonly kind: 'history-asc' | 'history-desc' | 'conversations' | 'search';
  /** The sort key, as exact text (microsecond timestamp or float4 rank). */
  readonly key: string;
  /** The row id (bigint text or uuid). */
  readonly id: string;
}

/** Encodes a position as an opaque, URL-safe cursor. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([1, position.kind, position.key, position.id]), 'utf8').toString(
    'base64url',
  );
}

/**
 * Decodes a cursor made by {@link encodeCursor} for `kind` whose key and id pass the given checks
 * (the shared ones of src/validation/ids.ts: a real timestamp, a bigint in range, a UUID).
 * Throws `ValidationError` (field `cursor`) for anything else, including a cursor issued by
 * another listing or order, so a forged cursor never reaches SQL.
 */
export function decodeCursor(
  cursor: string,
  kind: CursorPosition['kind'],
  isKey: (key: string) => boolean,
  isId: (id: string) => boolean,
): CursorPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 4 &&
      value[0] === 1 &&
      value[1] === kind &&
      typeof value[2] === 'string' &&
      typeof value[3] === 'string' &&
      isKey(value[2]) &&
      isId(value[3])
    ) {
      return { kind, key: value[2], id: value[3] };
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('invalid cursor: not issued by this listing', [
    { path: ['cursor'], message: 'is not a cursor issued by this listing and order', code: 'invalid_cursor' },
  ]);
}
