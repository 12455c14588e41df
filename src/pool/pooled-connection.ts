import type { PostgresCursor, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import type { CarebaseError } from '../errors/errors.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { clientFailure, releaseClient } from './checkout.js';
import { failIfLost, unlessLost } from './client-watch.js';
import type { PreparedStatements } from './prepared-statements.js';

/**
 * A checked-out pooled connection, as Kysely and carebase's own fast paths (prepared statements,
 * COPY, cursors) use it. Every failure becomes a carebase error through one path
 * ({@link PooledConnection.failure}); a connection found lost is destroyed on release, never
 * reused; a cursor on a connection that died is closed without waiting for the dead server.
 */
export class PooledConnection implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  readonly #prepared: PreparedStatements;
  readonly #telemetry: Telemetry | undefined;
  /** Set by Kysely's `release(true)` or a failure; consumed by {@link PooledConnection.release}. */
  #destroy = false;

  constructor(client: pg.PoolClient, prepared: PreparedStatements, telemetry?: Telemetry) {
    this.#client = client;
    this.#prepared = prepared;
    this.#telemetry = telemetry;
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
    if (typeof sqlOrCursor !== 'string') return this.cursor(sqlOrCursor);
    return this.#run<R>(sqlOrCursor, parameters ?? []);
  }

  async #run<R>(text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const name = this.#prepared.nameOf(text);
    const probe = this.#telemetry?.query(text);
    try {
      const config: pg.QueryConfig = { text, values: values as unknown[] };
      if (name !== undefined) config.name = name;
      const result = (await this.#client.query(config)) as unknown as PostgresQueryResult<R>;
      probe?.end(result.rows?.length, result.rowCount as number | null | undefined);
      return result;
    } catch (error) {
      const mapped = this.failure(error);
      probe?.fail(error, mapped.code);
      throw mapped;
    }
  }

  /**
   * Submits a pg-cursor on this connection. Reads fail with carebase errors; `close()` returns at
   * once when the connection is gone (pg-cursor would otherwise wait forever for the server).
   */
  cursor<R>(cursor: PostgresCursor<R>): PostgresCursor<R> {
    const client = this.#client;
    const text = (cursor as unknown as { text?: unknown }).text;
    const probe = typeof text === 'string' ? this.#telemetry?.query(text) : undefined;
    let rows = 0;
    const submitted = client.query(cursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    return {
      read: async (rowCount: number) => {
        try {
          const batch = await failIfLost(client, () => submitted.read(rowCount));
          rows += batch.length;
          return batch;
        } catch (error) {
          const mapped = this.failure(error);
          probe?.fail(error, mapped.code);
          throw mapped;
        }
      },
      close: async () => {
        try {
          await unlessLost(client, () => submitted.close());
          probe?.end(rows, undefined);
        } catch (error) {
          const mapped = this.failure(error);
          probe?.fail(error, mapped.code);
          throw mapped;
        }
      },
    };
  }

  /**
   * Submits a streaming query (a pg-copy-streams COPY) on this connection and returns it. Pass
   * the stream's failure to {@link PooledConnection.failure}.
   */
  stream<T extends pg.Submittable>(submittable: T): T {
    const text = (submittable as { text?: unknown }).text;
    const probe = typeof text === 'string' ? this.#telemetry?.query(text) : undefined;
    const stream = this.#client.query(submittable);
    if (probe !== undefined && typeof (stream as { once?: unknown }).once === 'function') {
      const emitter = stream as unknown as NodeJS.EventEmitter & { rowCount?: number };
      const done = (): void => probe.end(undefined, emitter.rowCount);
      emitter.once('finish', done);
      emitter.once('end', done);
      emitter.once('error', (error: unknown) => probe.fail(error, this.failure(error).code));
    }
    return stream;
  }

  /**
   * Maps a failure seen on this connection to a carebase error. When the connection is gone, or
   * `unsafe` says the protocol state is unknown (e.g. a COPY aborted mid-stream), the connection
   * is destroyed on release.
   */
  failure(error: unknown, unsafe = false): CarebaseError {
    if (unsafe) this.#destroy = true;
    return clientFailure(this.#client, error);
  }

  release(destroy?: boolean): void {
    const discard = destroy === true || this.#destroy;
    this.#destroy = false;
    releaseClient(this.#client, discard);
  }
}
