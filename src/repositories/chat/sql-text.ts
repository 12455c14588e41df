import { CompiledQuery } from 'kysely';
import { qualifiedName } from '../../sql/identifier.js';
import type { RepositoryContext } from '../context.js';

/** Exact, session-independent text of a timestamptz (UTC, microseconds) for cursors and exports. */
export const exactTimestamp = (column: string): string =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Matches {@link exactTimestamp}'s output (and the infinities used as open cursor bounds). */
export const EXACT_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z|-?infinity)$/;

const cache = new Map<string, string>();

/**
 * Builds (once per schema and key) a raw SQL text for a hot path, registers it so it runs as a
 * named prepared statement on every connection, and returns it compiled with `parameters`.
 * `build` receives the quoted, schema-qualified table name function.
 */
export function preparedQuery(
  ctx: RepositoryContext,
  key: string,
  build: (table: (name: string) => string) => string,
  parameters: readonly unknown[],
): CompiledQuery {
  const schema = ctx.config.schema;
  const cacheKey = `${schema}\u0000${key}`;
  let text = cache.get(cacheKey);
  if (text === undefined) {
    text = build((name) => qualifiedName(schema, name));
    cache.set(cacheKey, text);
  }
  ctx.runtime.prepared.register(text);
  return CompiledQuery.raw(text, [...parameters]);
}
