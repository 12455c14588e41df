/**
 * One SQL statement carebase ran, as the `onQuery` hook receives it: the parameterized text and
 * what came of it. Never the parameter values, never row content.
 *
 * @example
 * ```ts
 * import { createCarebase, type QueryEvent } from 'carebase';
 * const slow: QueryEvent[] = [];
 * const cb = createCarebase({
 *   connectionString,
 *   onQuery: (event) => {
 *     if (event.durationMs > 250) slow.push(event);
 *   },
 * });
 * ```
 */
export interface QueryEvent {
  /** `query` when the statement succeeded, `error` when it failed (kysely's `log` levels). */
  readonly level: 'query' | 'error';
  /** The SQL text as sent, with `$1`-style placeholders: never the values. */
  readonly sql: string;
  /** The statement's command in upper case: `SELECT`, `INSERT`, `UPDATE`, `BEGIN`, `COPY`... */
  readonly operation: string | undefined;
  /** The first table the statement names, without quotes (`carebase.users`). */
  readonly table: string | undefined;
  /** The public carebase call the statement belongs to (`users.create`), when there is one. */
  readonly carebaseOperation: string | undefined;
  /** Wall time from sending the statement to its last row (a cursor: until it closed), in ms. */
  readonly durationMs: number;
  /**
   * Rows the statement returned, or affected for INSERT/UPDATE/DELETE/COPY (PostgreSQL's command
   * tag); undefined for a failure or a command without a count.
   */
  readonly rowCount: number | undefined;
  /** For a failure: the carebase error code and the SQLSTATE, when the server sent one. */
  readonly error?: { readonly code: string; readonly sqlState: string | undefined };
}

/**
 * The `onQuery` hook: called after every SQL statement carebase runs on its pool (repositories,
 * `cb.db`, health checks), synchronously, with a {@link QueryEvent}. A hook that throws is logged
 * at `warn` once and otherwise ignored: it never fails the query.
 *
 * @example
 * ```ts
 * import type { QueryListener } from 'carebase';
 * // Log statement shapes and timings: the text has placeholders only, so no PHI reaches the log.
 * const onQuery: QueryListener = (event) => {
 *   logger.debug({ sql: event.sql, ms: event.durationMs, rows: event.rowCount }, 'sql');
 * };
 * ```
 */
export type QueryListener = (event: QueryEvent) => void;
