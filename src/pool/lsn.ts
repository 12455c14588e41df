/**
 * PostgreSQL WAL positions (`pg_lsn`, printed as `X/Y`) as bigints, for comparing a write's
 * position on the primary with a replica's replay position.
 */

/** Bytes of WAL page headers: short (every page) and long (the first page of a segment). */
const PAGE_HEADERS = new Set([24n, 40n]);
/** PostgreSQL's default (and near universal) `wal_block_size`. */
const WAL_PAGE = 8192n;

/** Parses `X/Y` (hex); `null` (no WAL yet, or not in recovery) is 0. */
export function parseLsn(text: string | null | undefined): bigint {
  if (text === null || text === undefined) return 0n;
  const slash = text.indexOf('/');
  if (slash < 0) return 0n;
  return (BigInt(`0x${text.slice(0, slash)}`) << 32n) + BigInt(`0x${text.slice(slash + 1)}`);
}

/** Formats a position as PostgreSQL prints it. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/**
 * The position a replica must have replayed for every record before `insertLsn` (a primary's
 * `pg_current_wal_insert_lsn()`): the insert position skips the header of a page no record has
 * reached yet, while a replica's replay position is the end of the last record. So a position just
 * past a page header means the page boundary (no record ends inside a header).
 */
export function replayTarget(insertLsn: bigint): bigint {
  const offset = insertLsn % WAL_PAGE;
  return PAGE_HEADERS.has(offset) ? insertLsn - offset : insertLsn;
}
