import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { ClosedError } from '../errors/errors.js';
import {
  markConnectionLoss,
  markPoolEnded,
  markPoolWaitTimeout,
  toCarebaseError,
} from '../errors/map-error.js';
import type { PreparedStatements } from './prepared-statements.js';

/**
 * A plain `Error` from pg's client (not a `DatabaseError`, not a `TypeError` from a bad value)
 * means the connection itself failed: pg raises those for terminated or unusable connections.
 */
function isConnectionLevelFailure(error: unknown): boolean {
  return error instanceof Error && error.constructor === Error && !('severity' in error);
}

class CarebasePoolClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  readonly #prepared: PreparedStatements;
  /** Set when a query failed because the connection died; release() then destroys it. */
  #broken = false;

  constructor(client: pg.PoolClient, prepared: PreparedStatements) {
    this.#client = client;
    this.#prepared = prepared;
  }

  /** The backend pid (0 until known), used by Kysely to cancel a running query. */
  get processID(): number {
    return (this.#client as unknown as { processID?: number }).processID ?? 0;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== 'string') {
      return this.#client.query(sqlOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    }
    return this.#run<R>(sqlOrCursor, parameters ?? []);
  }

  async #run<R>(text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const name = this.#prepared.nameOf(text);
    try {
      const config: pg.QueryConfig = { text, values: values as unknown[] };
      if (name !== undefined) config.name = name;
      return (await this.#client.query(config)) as unknown as PostgresQueryResult<R>;
    } catch (error) {
      if (isConnectionLevelFailure(error)) markConnectionLoss(error);
      const mapped = toCarebaseError(error);
      // A terminated backend answers with an error (57P01) before its socket closes; without this
      // the connection could go back to the pool and fail the next caller.
      if (mapped.code === 'CONNECTION_FAILED') this.#broken = true;
      throw mapped;
    }
  }

  release(destroy?: boolean): void {
    const broken = this.#broken;
    this.#broken = false;
    this.#client.release(destroy === true || broken ? true : undefined);
  }
}

/**
 * Adapts a `pg.Pool` for Kysely's `PostgresDialect`: every error leaving the driver becomes a
 * carebase error (mapped in one place, `toCarebaseError`), registered SQL runs as named prepared
 * statements, and a closed instance refuses work with `ClosedError` instead of hanging.
 */
export class CarebaseKyselyPool implements PostgresPool {
  readonly #pool: pg.Pool;
  readonly #prepared: PreparedStatements;
  readonly #endPool: boolean;
  readonly #wrappers = new WeakMap<pg.PoolClient, CarebasePoolClient>();
  #closed = false;

  /**
   * @param pool the pg pool to draw connections from
   * @param prepared the registry of SQL texts that run as named statements
   * @param endPool whether `end()` (Kysely's `destroy()`) also ends `pool`
   */
  constructor(pool: pg.Pool, prepared: PreparedStatements, endPool: boolean) {
    this.#pool = pool;
    this.#prepared = prepared;
    this.#endPool = endPool;
  }

  get options(): object {
    return this.#pool.options;
  }

  /** pg's client class, used by Kysely for a control connection that cancels queries. */
  get Client(): NonNullable<PostgresPool['Client']> {
    return (this.#pool as unknown as { Client: NonNullable<PostgresPool['Client']> }).Client;
  }

  /** True once `end()` ran or the underlying pool was ended. */
  get closed(): boolean {
    return this.#closed || this.#pool.ended || this.#pool.ending;
  }

  async connect(): Promise<PostgresPoolClient> {
    if (this.closed) throw new ClosedError();
    const pool = this.#pool;
    const max = pool.options.max ?? 10;
    const willWait = pool.idleCount === 0 && pool.totalCount >= max;
    try {
      const client = await pool.connect();
      // One wrapper per pg client, so Kysely's per-connection cache hits on reuse.
      let wrapper = this.#wrappers.get(client);
      if (wrapper === undefined) {
        wrapper = new CarebasePoolClient(client, this.#prepared);
        this.#wrappers.set(client, wrapper);
      }
      return wrapper;
    } catch (error) {
      if (pool.ending || pool.ended) markPoolEnded(error);
      else if (willWait) markPoolWaitTimeout(error, pool.options.connectionTimeoutMillis ?? 0);
      else if (isConnectionLevelFailure(error)) markConnectionLoss(error);
      throw toCarebaseError(error);
    }
  }

  async end(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#endPool && !this.#pool.ended && !this.#pool.ending) await this.#pool.end();
  }
}
