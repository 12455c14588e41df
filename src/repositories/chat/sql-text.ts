import { CompiledQuery } from 'kysely';
import { qualifiedName } from '../../sql/identifier.js';
import type { RepositoryContext } from '../context.js';

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
