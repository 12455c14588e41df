/** The largest PostgreSQL `bigint`. */
const BIGINT_MAX = 9_223_372_036_854_775_807n;
const DIGITS = /^(0|[1-9][0-9]{0,18})$/;

/**
 * Whether `value` is the decimal text of a non-negative PostgreSQL `bigint` (no sign, no leading
 * zeros, at most 2^63-1): what identity ids and cursor ids must be before they reach SQL.
 */
export function isBigintText(value: string): boolean {
  return DIGITS.test(value) && BigInt(value) <= BIGINT_MAX;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID in PostgreSQL's canonical text form (any version, either case). */
export function isUuidText(value: string): boolean {
  return UUID.test(value);
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/**
 * Whether `value` is a timestamp text (as PostgreSQL prints a `timestamptz`, or ISO 8601) naming
 * a real calendar instant (years 1-9999, any row's value): the sort key of a keyset cursor,
 * checked before SQL so a forged cursor (month 13, day 30 of February, hour 25) is refused instead
 * of failing in the server.
 */
export function isTimestampText(value: string): boolean {
  const match = TIMESTAMP.exec(value);
  if (match === null) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return day >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const FLOAT = /^-?\d{1,40}(\.\d{1,40})?(e[+-]?\d{1,3})?$/;

/** Whether `value` is the text of a finite `real` (float4) PostgreSQL can read: a rank in a cursor. */
export function isFloat4Text(value: string): boolean {
  if (!FLOAT.test(value)) return false;
  const number = Number(value);
  return Number.isFinite(number) && Math.abs(number) <= 3.4e38;
}
