import { createHash } from 'node:crypto';
import type { CompiledQuery } from 'kysely';

/** The uuid fixed-shape queries are compiled with ({@link PreparedStatements.compiled}); calls pass their own. */
export const PLACEHOLDER_UUID = '00000000-0000-0000-0000-000000000000';

/** A precompiled SQL text and the name it runs under as a prepared statement. */
export interface PreparedStatement {
  /** The statement name, stable for a text: `carebase_` and 20 hex digits of its SHA-1. */
  readonly name: string;
  /** The SQL text, `$1`-style placeholders. */
  readonly sql: string;
}

/**
 * The one prepared-statement cache of a carebase instance. Hot paths build their SQL text once per
 * instance (so once per schema) under a key, and the pool adapter then sends it as
 * `{ name, text, values }` instead of an unnamed statement, so the server parses and plans it once
 * per connection. Nothing else in carebase keeps compiled SQL.
 */
export class PreparedStatements {
  readonly #byKey = new Map<string, PreparedStatement>();
  readonly #names = new Map<string, string>();
  readonly #named: boolean;

  /**
   * @param options.named whether registered texts run as named statements (default true). False
   *   behind a transaction pooler: a name prepared on one server backend is unknown (or, worse,
   *   already taken) on the next, so every statement runs unnamed (parsed per execution).
   */
  constructor(options: { readonly named?: boolean } = {}) {
    this.#named = options.named ?? true;
  }

  /**
   * The statement cached under `key` (e.g. `sessions.validate`), building its text with `build` on
   * first use and registering it to run as a named prepared statement.
   */
  get(key: string, build: () => string): PreparedStatement {
    let statement = this.#byKey.get(key);
    if (statement === undefined) {
      const sql = build();
      statement = { name: this.#register(sql), sql };
      this.#byKey.set(key, statement);
    }
    return statement;
  }

  /**
   * The compiled-query cache: a fixed-shape Kysely query compiled once per instance under `key`
   * (built with placeholder values; `parameterCount` checks the shape), run as a named prepared
   * statement with each call's parameters, in the order Kysely emits them.
   */
  compiled(key: string, compile: () => CompiledQuery, parameterCount: number): PreparedStatement {
    return this.get(key, () => {
      const compiled = compile();
      if (compiled.parameters.length !== parameterCount) {
        throw new Error(`carebase: precompiled statement ${key} expects ${parameterCount} parameters`);
      }
      return compiled.sql;
    });
  }

  /** {@link PreparedStatements.get}, compiled with `parameters` for `executeQuery`. */
  query<R>(key: string, build: () => string, parameters: readonly unknown[]): PreparedQuery<R> {
    return { sql: this.get(key, build).sql, parameters };
  }

  /** The statement name of `sql`, if it was registered (used by the pool adapter per query). */
  nameOf(sql: string): string | undefined {
    return this.#named ? this.#names.get(sql) : undefined;
  }

  #register(sql: string): string {
    let name = this.#names.get(sql);
    if (name === undefined) {
      name = `carebase_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
      this.#names.set(sql, name);
    }
    return name;
  }
}

/**
 * A statement of the cache with its parameters, for `runPrepared` (no Kysely node, no frozen copy:
 * the hot paths build one per call). `R` is the row type it returns.
 */
export interface PreparedQuery<R = unknown> {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** Never set: carries the row type. */
  readonly __rows?: R;
}
