import type { PostgresPool, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { ClosedError } from '../errors/errors.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { rethrowWithCallerStack, withCallerStack } from './caller-stack.js';
import { checkoutClient } from './checkout.js';
import { watchClient } from './client-watch.js';
import { PooledConnection } from './pooled-connection.js';
import type { PreparedStatements } from './prepared-statements.js';

/**
 * Adapts a `pg.Pool` for Kysely's `PostgresDialect`: every error leaving the driver becomes a
 * carebase error (mapped in one place, `toCarebaseError`), registered SQL runs as named prepared
 * statements, and a closed instance refuses work with `ClosedError` instead of hanging.
 */
export class CarebaseKyselyPool implements PostgresPool {
  readonly #pool: pg.Pool;
  readonly #prepared: PreparedStatements;
  readonly #endPool: boolean;
  readonly #transactionSettings: string;
  readonly #telemetry: Telemetry | undefined;
  readonly #finished: ((sql: string) => void) | undefined;
  /** Hears each checkout's wait, when telemetry records it (made once: no closure per checkout). */
  readonly #onWait: ((waitedMs: number, timedOut: boolean) => void) | undefined;
  readonly #wrappers = new WeakMap<pg.PoolClient, PooledConnection>();
  #controlClient: NonNullable<PostgresPool['Client']> | undefined;
  /** Connections of a pool this adapter ends, until their sockets have closed. */
  readonly #live = new Set<object>();
  #allClosed: (() => void) | undefined;
  #closed = false;

  /**
   * @param pool the pg pool to draw connections from
   * @param prepared the registry of SQL texts that run as named statements
   * @param endPool whether `end()` (Kysely's `destroy()`) also ends `pool`
   * @param transactionSettings statements sent with every `begin` (see `PooledConnection`)
   * @param telemetry observes checkouts and every statement run on the connections
   * @param finished hears every statement's text once it finished (see `PooledConnection`)
   */
  constructor(
    pool: pg.Pool,
    prepared: PreparedStatements,
    endPool: boolean,
    transactionSettings = '',
    telemetry?: Telemetry,
    finished?: (sql: string) => void,
  ) {
    this.#pool = pool;
    this.#prepared = prepared;
    this.#endPool = endPool;
    this.#transactionSettings = transactionSettings;
    this.#telemetry = telemetry;
    this.#finished = finished;
    this.#onWait =
      telemetry?.observesPoolWaits === true
        ? (waitedMs, timedOut) => telemetry.poolWait(waitedMs, timedOut)
        : undefined;
    if (endPool) {
      pool.on('connect', (client) => this.#live.add(client));
      // pg-pool emits 'remove' once the client's socket has closed.
      pool.on('remove', (client) => {
        this.#live.delete(client);
        if (this.#live.size === 0) this.#allClosed?.();
      });
    }
  }

  get options(): object {
    return this.#pool.options;
  }

  /**
   * pg's client class, used by Kysely for a control connection that cancels queries: watched from
   * construction, like every client carebase makes.
   */
  get Client(): NonNullable<PostgresPool['Client']> {
    if (this.#controlClient === undefined) {
      const Base = (this.#pool as unknown as { Client: typeof pg.Client }).Client;
      this.#controlClient = class WatchedControlClient extends Base {
        constructor(config?: string | pg.ClientConfig) {
          super(config);
          watchClient(this);
        }
      } as unknown as NonNullable<PostgresPool['Client']>;
    }
    return this.#controlClient;
  }

  /** True once `end()` ran or the underlying pool was ended. */
  get closed(): boolean {
    return this.#closed || this.#pool.ended || this.#pool.ending;
  }

  /**
   * Checks out a connection (see `checkoutClient` for the error codes). Release it exactly once.
   */
  connect(): Promise<PooledConnection> {
    if (this.closed) return Promise.reject(new ClosedError());
    return checkoutClient(this.#pool, this.#onWait).then(this.#wrap);
  }

  /**
   * Runs one statement on a pooled connection and releases it, resolving with `map` of its result:
   * the path of every statement outside a transaction (`cb.db`'s single statements, carebase's
   * prepared statements). Promise chains rather than async functions, and the mapping in the same
   * step: each promise costs a microtask on a path this short.
   */
  run<R, T>(
    sql: string,
    parameters: ReadonlyArray<unknown>,
    map: (result: PostgresQueryResult<R>) => T,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError());
    // Errors are made in pg's callbacks, with pg's frames only: their stacks are taken again in
    // these handlers (withCallerStack), where V8 sees the awaiting callers.
    return checkoutClient(this.#pool, this.#onWait).then((client) => {
      const connection = this.#wrap(client);
      return connection.query<R>(sql, parameters).then(
        (result) => {
          connection.release();
          return map(result);
        },
        (error: unknown) => {
          connection.release();
          throw withCallerStack(error);
        },
      );
    }, rethrowWithCallerStack);
  }

  /** One wrapper per pg client, so Kysely's per-connection cache hits on reuse. */
  readonly #wrap = (client: pg.PoolClient): PooledConnection => {
    let wrapper = this.#wrappers.get(client);
    if (wrapper === undefined) {
      wrapper = new PooledConnection(
        client,
        this.#prepared,
        this.#transactionSettings,
        this.#telemetry,
        this.#finished,
      );
      this.#wrappers.set(client, wrapper);
    }
    return wrapper;
  };

  /**
   * Refuses new work, and when the pool is carebase's own, ends it: first lets the calls already
   * queued for a connection get one and finish (pg-pool's `end()` would leave them waiting forever,
   * or until `connectionTimeoutMillis`, and then fail), then waits for checked-out connections to
   * be released, then for every connection's socket to close (pg-pool's `end()` resolves before
   * that), so no handle or pending promise outlives it.
   */
  async end(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#endPool) return;
    await this.#drainWaiting();
    if (!this.#pool.ended && !this.#pool.ending) await this.#pool.end();
    if (this.#live.size > 0) {
      await new Promise<void>((resolve) => {
        this.#allClosed = resolve;
      });
    }
  }

  /**
   * Waits until no call waits for a pooled connection. New calls are refused by now, so the queue
   * only shrinks: each release hands a connection to the next waiter, and a waiter whose
   * connection cannot be opened, or whose `connectionTimeoutMillis` passes, leaves it with an
   * error. Rechecked on every checkout, release and removal, and every 25 ms (a waiter that timed
   * out leaves the queue without an event).
   */
  async #drainWaiting(): Promise<void> {
    const pool = this.#pool;
    while (pool.waitingCount > 0 && !pool.ending && !pool.ended) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 25);
        function done(): void {
          clearTimeout(timer);
          pool.off('acquire', done);
          pool.off('release', done);
          pool.off('remove', done);
          resolve();
        }
        pool.on('acquire', done);
        pool.on('release', done);
        pool.on('remove', done);
      });
    }
  }
}
