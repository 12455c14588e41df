/**
 * SQL for the exact, session-independent text of a timestamptz column: UTC with microseconds, e.g.
 * `2026-03-02T08:00:00.123456Z`. Keyset cursors carry it so the next page starts exactly after the
 * last row even when rows share a millisecond; exports write it so no precision is lost.
 *
 * @example
 * ```ts
 * sql.raw<string>(exactTimestamp('created_at')).as('sort_key');
 * ```
 */
export function exactTimestamp(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Matches {@link exactTimestamp}'s output (and the infinities used as open keyset bounds). */
export const EXACT_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z|-?infinity)$/;
