import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PostgresCursor, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { CarebaseError } from '../errors/errors.js';
import { clientFailure, releaseClient } from './checkout.js';
import { failIfLost, unlessLost } from './client-watch.js';
import { CopyInSource } from './copy-in.js';
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
  /** Set by Kysely's `release(true)` or a failure; consumed by {@link PooledConnection.release}. */
  #destroy = false;

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
    if (typeof sqlOrCursor !== 'string') return this.cursor(sqlOrCursor);
    return this.#run<R>(sqlOrCursor, parameters ?? []);
  }

  async #run<R>(text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const copy = values.length === 1 ? values[0] : undefined;
    if (copy instanceof CopyInSource) return this.#copyIn<R>(text, copy);
    const name = this.#prepared.nameOf(text);
    try {
      const config: pg.QueryConfig = { text, values: values as unknown[] };
      if (name !== undefined) config.name = name;
      return (await this.#client.query(config)) as unknown as PostgresQueryResult<R>;
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** Runs `COPY ... FROM STDIN` with the source's chunks (see `copyInQuery`). */
  async #copyIn<R>(text: string, source: CopyInSource): Promise<PostgresQueryResult<R>> {
    const stream = this.#client.query(copyFrom(text));
    try {
      await pipeline(Readable.from(source.chunks), stream);
    } catch (error) {
      // Anything but a server error (e.g. a source that threw) may leave the connection mid-protocol.
      throw this.failure(error, !(error instanceof Error && 'severity' in error));
    }
    return { command: 'COPY', rowCount: stream.rowCount, rows: [] } as unknown as PostgresQueryResult<R>;
  }

  /**
   * Submits a pg-cursor on this connection. Reads fail with carebase errors; `close()` returns at
   * once when the connection is gone (pg-cursor would otherwise wait forever for the server).
   */
  cursor<R>(cursor: PostgresCursor<R>): PostgresCursor<R> {
    const client = this.#client;
    const submitted = client.query(cursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    return {
      read: async (rowCount: number) => {
        try {
          return await failIfLost(client, () => submitted.read(rowCount));
        } catch (error) {
          throw this.failure(error);
        }
      },
      close: async () => {
        try {
          await unlessLost(client, () => submitted.close());
        } catch (error) {
          throw this.failure(error);
        }
      },
    };
  }

  /**
   * Submits a streaming query (a pg-copy-streams COPY) on this connection and returns it. Pass
   * the stream's failure to {@link PooledConnection.failure}.
   */
  stream<T extends pg.Submittable>(submittable: T): T {
    return this.#client.query(submittable);
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
