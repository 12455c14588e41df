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

/** How a registered statement is sent. */
export interface StatementOptions {
  /**
   * Rows come back as arrays in select-list order (pg's `rowMode: 'array'`), for a hot read path
   * that maps them itself: pg then builds no row object from its per-statement template (a history
   * page of 50 cost 15-30 us less Node CPU, docs/performance.md).
   */
  readonly arrayRows?: boolean;
}

/** How the pool adapter runs a registered text: its name (when named) and its row mode. */
export interface StatementRun {
  readonly name: string | undefined;
  readonly arrayRows: boolean;
}

/**
 * The one prepared-statement cache of a carebase instance. Hot paths build their SQL text once per
 * instance (so once per schema) under a key, and the pool adapter then sends it as
 * `{ name, text, values }` instead of an unnamed statement, so the server parses and plans it once
 * per connection. Nothing else in carebase keeps compiled SQL.
 */
export class PreparedStatements {
  readonly #byKey = new Map<string, PreparedStatement>();
  /** Each registered text: its statement name, and how the pool adapter runs it. */
  readonly #texts = new Map<string, { readonly name: string; readonly run: StatementRun }>();
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
   * first use and registering it to run as a named prepared statement (see
   * {@link StatementOptions} for array rows).
   */
  get(key: string, build: () => string, options?: StatementOptions): PreparedStatement {
    let statement = this.#byKey.get(key);
    if (statement === undefined) {
      const sql = build();
      statement = { name: this.#register(sql, options?.arrayRows === true), sql };
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
  query<R>(
    key: string,
    build: () => string,
    parameters: readonly unknown[],
    options?: StatementOptions,
  ): PreparedQuery<R> {
    return { sql: this.get(key, build, options).sql, parameters };
  }

  /**
   * How `sql` runs, if it was registered: its statement name (unless nothing is named) and its
   * row mode. One map lookup per query, made by the pool adapter.
   */
  runOf(sql: string): StatementRun | undefined {
    return this.#texts.get(sql)?.run;
  }

  #register(sql: string, arrayRows: boolean): string {
    const known = this.#texts.get(sql);
    if (known === undefined) {
      const name = `carebase_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
      this.#texts.set(sql, { name, run: { name: this.#named ? name : undefined, arrayRows } });
      return name;
    }
    // Two callers reading one text's rows in two shapes: a bug in carebase, found at first use.
    if (known.run.arrayRows !== arrayRows)
      throw new Error('carebase: one statement text registered with two row modes');
    return known.name;
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
