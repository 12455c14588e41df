import pg from 'pg';

/**
 * Quotes one SQL identifier (a schema, table, database or role name) for SQL text written by hand:
 * node-postgres's `escapeIdentifier`, which wraps the name in double quotes and doubles any double
 * quote inside, so every name (mixed case, spaces, quotes) reaches the server verbatim.
 *
 * This is the one way carebase quotes a name into SQL text. Queries built with Kysely quote through
 * Kysely (`withSchema`, `sql.id`), which applies the same rule.
 *
 * @example
 * ```ts
 * quoteIdentifier('carebase'); // '"carebase"'
 * quoteIdentifier('my "app"'); // '"my ""app"""'
 * ```
 */
export function quoteIdentifier(name: string): string {
  return pg.escapeIdentifier(name);
}

/**
 * A schema-qualified name, each part quoted by {@link quoteIdentifier}.
 *
 * @example
 * ```ts
 * qualifiedName('carebase', 'audit_log'); // '"carebase"."audit_log"'
 * ```
 */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
}
