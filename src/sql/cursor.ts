import { ValidationError } from '../errors/errors.js';
import { isBigintText, isFloat4Text, isTimestampText, isUuidText } from '../validation/ids.js';
import { EXACT_TIMESTAMP } from './exact-timestamp.js';

/**
 * The one keyset cursor codec. A cursor is the base64url text of the JSON array
 * `[1, kind, key, id]`: format version 1, the listing that issued it, the sort key of the last row
 * (exact text: a microsecond UTC timestamp or a rank) and its id. Opaque to hosts; the kind makes a
 * cursor of one listing (or order) useless on another.
 *
 * Decoding is bounded and strict: at most {@link MAX_CURSOR_LENGTH} base64url characters, the exact
 * shape, the listing's kind, and key and id matching the listing's patterns; anything else is a
 * `ValidationError` naming the `cursor` field, raised before any SQL runs.
 */

/** The longest cursor accepted, in characters (real ones are under 120). */
export const MAX_CURSOR_LENGTH = 512;

/** The listings that issue cursors. */
export type CursorKind =
  | 'users'
  | 'sessions'
  | 'audit'
  | 'history-asc'
  | 'history-desc'
  | 'conversations'
  | 'search'
  | 'path';

/** Where a page ends: the sort key and id of its last row. */
export interface CursorPosition {
  /** The sort key as exact text (see {@link CursorSpec.key}). */
  readonly key: string;
  /** The row id (bigint text or uuid). */
  readonly id: string;
}

/**
 * A check of one cursor field: a pattern, or a shared validator from src/validation/ids.ts (a
 * RegExp is one too).
 */
export interface CursorFieldCheck {
  test(value: string): boolean;
}

/** What one listing's cursors look like. */
export interface CursorSpec {
  readonly kind: CursorKind;
  /** The sort key's check. */
  readonly key: CursorFieldCheck;
  /** The row id's check. */
  readonly id: CursorFieldCheck;
  /**
   * Also accept this listing's cursors from before the shared codec, the untagged `[key, id]`,
   * with a key matching this pattern. Kept for one release (0.2); removed after.
   */
  readonly legacyKey?: CursorFieldCheck;
}

/**
 * Checks of the keys and ids listings use: the shape, and what PostgreSQL will accept (a real
 * calendar instant, a bigint within 2^63-1, a finite float4), so a forged cursor is refused before
 * SQL instead of failing in the server.
 */
export const CURSOR_PATTERNS = {
  /** `exactTimestamp()` text (or an infinity). */
  timestamp: {
    test: (value: string) =>
      EXACT_TIMESTAMP.test(value) && (value.endsWith('infinity') || isTimestampText(value)),
  },
  /** A float4 rank as PostgreSQL prints it. */
  rank: { test: isFloat4Text },
  /** A bigint id. */
  bigint: { test: isBigintText },
  /** A uuid id. */
  uuid: { test: isUuidText },
  /** PostgreSQL's own `timestamptz::text` (in any session time zone), as older cursors carried. */
  timestamptzText: { test: isTimestampText },
} as const satisfies Record<string, CursorFieldCheck>;

const VERSION = 1;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Encodes a position of `spec`'s listing as an opaque, URL-safe cursor.
 *
 * @example
 * ```ts
 * const next = encodeCursor(USERS_CURSOR, { key: last.sort_key, id: last.id });
 * ```
 */
export function encodeCursor(spec: CursorSpec, position: CursorPosition): string {
  return Buffer.from(JSON.stringify([VERSION, spec.kind, position.key, position.id]), 'utf8').toString(
    'base64url',
  );
}

/**
 * Decodes a cursor issued by {@link encodeCursor} for `spec`'s listing. Throws `ValidationError`
 * (field `cursor`) for anything else: too long, not base64url, another shape, version or listing,
 * or a key or id that does not match.
 *
 * @example
 * ```ts
 * const after = input.cursor === undefined ? undefined : decodeCursor(USERS_CURSOR, input.cursor);
 * ```
 */
export function decodeCursor(spec: CursorSpec, cursor: string): CursorPosition {
  const value = parse(cursor);
  const position = Array.isArray(value) ? (current(spec, value) ?? legacy(spec, value)) : undefined;
  if (position !== undefined) return position;
  throw new ValidationError('invalid cursor: not issued by this listing', [
    { path: ['cursor'], message: 'is not a cursor issued by this listing and order', code: 'invalid_cursor' },
  ]);
}

/** The JSON inside a bounded base64url cursor, or undefined. */
function parse(cursor: string): unknown {
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `[1, kind, key, id]` of this listing. */
function current(spec: CursorSpec, value: readonly unknown[]): CursorPosition | undefined {
  const [version, kind, key, id] = value;
  return value.length === 4 &&
    version === VERSION &&
    kind === spec.kind &&
    matches(spec.key, spec.id, key, id)
    ? { key: key as string, id: id as string }
    : undefined;
}

/** The untagged `[key, id]` written before the shared codec, where the listing still accepts it. */
function legacy(spec: CursorSpec, value: readonly unknown[]): CursorPosition | undefined {
  const [key, id] = value;
  return spec.legacyKey !== undefined && value.length === 2 && matches(spec.legacyKey, spec.id, key, id)
    ? { key: key as string, id: id as string }
    : undefined;
}

function matches(
  keyPattern: CursorFieldCheck,
  idPattern: CursorFieldCheck,
  key: unknown,
  id: unknown,
): boolean {
  return typeof key === 'string' && typeof id === 'string' && keyPattern.test(key) && idPattern.test(id);
}

/**
 * Turns the `limit + 1` rows of a keyset query into a page: the first `limit` rows mapped with
 * `map`, and a cursor after the last of them when the extra row shows there is more.
 *
 * @example
 * ```ts
 * return keysetPage(rows, limit, toUser, USERS_CURSOR, (row) => ({ key: row.sort_key, id: row.id }));
 * ```
 */
export function keysetPage<R, T>(
  rows: readonly R[],
  limit: number,
  map: (row: R) => T,
  spec: CursorSpec,
  positionOf: (row: R) => CursorPosition,
): { items: T[]; nextCursor: string | undefined } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    items: page.map(map),
    nextCursor: more && last !== undefined ? encodeCursor(spec, positionOf(last)) : undefined,
  };
}
