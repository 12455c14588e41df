/**
 * The one CSV writer of carebase's exports (chat and audit), RFC 4180:
 *
 * - records end with CRLF (`\r\n`), the header record included;
 * - a field is quoted when it contains `"`, `,`, CR or LF, or is the empty string; quotes inside are
 *   doubled;
 * - `null` and `undefined` are an empty, unquoted field, so a reader can tell them from an empty
 *   string (`""`);
 * - a `Date` is written as ISO 8601 in UTC (`toISOString()`), a plain object or array as JSON,
 *   anything else with `String()`.
 *
 * Values are never altered otherwise: a spreadsheet may read a field starting with `=`, `+`, `-` or
 * `@` as a formula, so exports of untrusted text should be opened as text.
 */
export const CSV_RECORD_END = '\r\n';

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV field, quoted when needed (see the module's rules).
 *
 * @example
 * ```ts
 * csvField(null); // ''
 * csvField(''); // '""'
 * csvField('say "hi", then go'); // '"say ""hi"", then go"'
 * ```
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return text === '' || NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * One CSV record: the fields joined by commas, ending with CRLF.
 *
 * @example
 * ```ts
 * csvRecord(['id', 'content']); // 'id,content\r\n'
 * ```
 */
export function csvRecord(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}${CSV_RECORD_END}`;
}
