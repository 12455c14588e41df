import type { PreparedQuery, StatementOptions } from '../../pool/prepared-statements.js';
import { qualifiedName } from '../../sql/identifier.js';
import type { RepositoryContext } from '../context.js';

/**
 * The option of the statements whose rows come back as arrays (see `StatementOptions.arrayRows`),
 * mapped by `messageRowOf` (chat-types.ts).
 */
export const ARRAY_ROWS: StatementOptions = { arrayRows: true };

/**
 * A hot path's raw SQL, built once per instance under `chat.<key>` in the instance's prepared
 * statement cache (so it runs as a named prepared statement), compiled with `parameters`.
 * `build` receives a function quoting a schema-qualified table name. With `arrayRows`, rows come
 * back as arrays in select-list order (`R` is then the array type).
 */
export function preparedQuery<R = unknown>(
  ctx: RepositoryContext,
  key: string,
  build: (table: (name: string) => string) => string,
  parameters: readonly unknown[],
  options?: StatementOptions,
): PreparedQuery<R> {
  const schema = ctx.config.schema;
  return ctx.runtime.prepared.query<R>(
    `chat.${key}`,
    () => build((name) => qualifiedName(schema, name)),
    parameters,
    options,
  );
}
