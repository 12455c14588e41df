import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PostgresCursor, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type CarebaseError, InvalidConfigurationError } from '../errors/errors.js';
import type { QueryProbe, Telemetry } from '../telemetry/telemetry.js';
import { takeActingUserForBegin } from './acting-user.js';
import { clientFailure, releaseClient } from './checkout.js';
import { failIfLost, unlessLost } from './client-watch.js';
import { CopyInSource } from './copy-in.js';
import type { PreparedStatements, StatementRun } from './prepared-statements.js';

/** SQLSTATE 26000 (no such prepared statement) or 42P05 (it already exists). */
function isPreparedStatementMismatch(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '26000' || code === '42P05';
}

/** Hears a statement's outcome (pg's query callback). */
type Done = (error: Error | null | undefined, result: pg.QueryResult) => void;

/**
 * Submits `text` with `values` on `client`, as the named prepared statement `run.name` when given,
 * with rows as arrays when `run.arrayRows`; `done` hears the outcome. A `Query` with a callback:
 * pg then makes no promise of its own (the caller makes one), and copies no config object (pg
 * copies every query config object it is handed, property descriptors and all: about 2 µs a
 * statement). Only a statement with array rows pays that copy (pg reads the row mode from a config
 * object alone), and saves far more on its rows.
 */
function submit(
  client: pg.PoolClient,
  text: string,
  values: ReadonlyArray<unknown>,
  run: StatementRun | undefined,
  done: Done,
): void {
  if (run?.arrayRows === true) {
    const config = { text, values: values as unknown[], name: run.name, rowMode: 'array' };
    client.query(new pg.Query(config as pg.QueryConfig, undefined, done));
    return;
  }
  const query = new pg.Query(text, values as unknown[], done);
  if (run?.name !== undefined) (query as unknown as { name: string | undefined }).name = run.name;
  client.query(query);
}

/** A statement opening a transaction (Kysely's and carebase's own), without a second statement. */
const BEGIN = /^\s*(begin|start\s+transaction)\b[^;]*$/i;

/**
 * A checked-out pooled connection, as Kysely and carebase's own fast paths (prepared statements,
 * COPY, cursors) use it. Every failure becomes a carebase error through one path
 * ({@link PooledConnection.failure}); a connection found lost is destroyed on release, never
 * reused; a cursor on a connection that died is closed without waiting for the dead server.
 */
export class PooledConnection implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  readonly #prepared: PreparedStatements;
  readonly #beginSuffix: string;
  readonly #telemetry: Telemetry | undefined;
  readonly #finished: ((sql: string) => void) | undefined;
  /** Set by Kysely's `release(true)` or a failure; consumed by {@link PooledConnection.release}. */
  #destroy = false;
  /** A stream (a COPY) ran since the last release: the write mark hears of it on release. */
  #streamed = false;

  /**
   * @param transactionSettings statements run right after every `begin` / `start transaction`
   *   in the same round trip (e.g. `set local statement_timeout = 30000` behind a transaction
   *   pooler, where no setting may outlive the transaction); empty for none
   * @param telemetry observes every statement run on this connection
   * @param finished hears the text of every statement once it finished or failed (the write mark
   *   of read-your-writes on replicas)
   */
  constructor(
    client: pg.PoolClient,
    prepared: PreparedStatements,
    transactionSettings = '',
    telemetry?: Telemetry,
    finished?: (sql: string) => void,
  ) {
    this.#client = client;
    this.#prepared = prepared;
    this.#beginSuffix = transactionSettings === '' ? '' : `; ${transactionSettings}`;
    this.#telemetry = telemetry;
    this.#finished = finished;
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
    const finished = this.#finished;
    if (finished === undefined) return this.#run<R>(sqlOrCursor, parameters ?? []);
    return this.#run<R>(sqlOrCursor, parameters ?? []).finally(() => finished(sqlOrCursor));
  }

  /**
   * Runs one statement, with one promise (not an async function around pg's promise): this runs
   * under every statement carebase and `cb.db` send, and each promise costs a microtask.
   */
  #run<R>(text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const copy = values.length === 1 ? values[0] : undefined;
    if (copy instanceof CopyInSource) return this.#copyIn<R>(text, copy);
    const run = this.#prepared.runOf(text);
    const probe = this.#telemetry?.query(text);
    const begins = values.length === 0 && BEGIN.test(text);
    const suffix = begins ? this.#beginSuffix + takeActingUserForBegin() : '';
    return new Promise<PostgresQueryResult<R>>((resolve, reject) => {
      const done: Done = (error, result) => {
        if (error !== undefined && error !== null) {
          reject(this.#failed(error, run?.name, probe));
          return;
        }
        // `begin; set local ...` answers with one result per statement: the result of `begin`.
        const first = Array.isArray(result) ? (result[0] as pg.QueryResult) : result;
        probe?.end(first.rows?.length, first.rowCount as number | null | undefined);
        resolve(first as unknown as PostgresQueryResult<R>);
      };
      try {
        // One simple-protocol round trip for `begin; set local ...` (and the row-level security
        // user of `rls: true`).
        if (suffix !== '') this.#client.query(new pg.Query(text + suffix, undefined, done));
        else submit(this.#client, text, values, run, done);
      } catch (error) {
        reject(this.#failed(error, run?.name, probe));
      }
    });
  }

  /** The carebase error for a statement's failure, told to telemetry. */
  #failed(error: unknown, name: string | undefined, probe: QueryProbe | undefined): CarebaseError {
    if (name !== undefined && isPreparedStatementMismatch(error)) {
      // The server backend does not hold the statements this connection prepared (26000), or
      // holds one this connection never prepared (42P05): the backend changed under the
      // connection, which is what a transaction pooler does. Never reuse this connection.
      this.#destroy = true;
      const mismatch = new InvalidConfigurationError(
        'pooler',
        "a transaction pooler is in the way (the server backend changed between statements of one connection): set pooler: 'transaction'",
        { cause: this.failure(error) },
      );
      probe?.fail(error, mismatch.code);
      return mismatch;
    }
    const mapped = this.failure(error);
    probe?.fail(error, mapped.code);
    return mapped;
  }

  /** Runs `COPY ... FROM STDIN` with the source's chunks (see `copyInQuery`). */
  async #copyIn<R>(text: string, source: CopyInSource): Promise<PostgresQueryResult<R>> {
    const probe = this.#telemetry?.query(text);
    const stream = this.#client.query(copyFrom(text));
    try {
      await pipeline(Readable.from(source.chunks), stream);
    } catch (error) {
      // Anything but a server error (e.g. a source that threw) may leave the connection mid-protocol.
      const mapped = this.failure(error, !(error instanceof Error && 'severity' in error));
      probe?.fail(error, mapped.code);
      throw mapped;
    }
    probe?.end(undefined, stream.rowCount);
    return { command: 'COPY', rowCount: stream.rowCount, rows: [] } as unknown as PostgresQueryResult<R>;
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
    this.#streamed = true;
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
    if (this.#streamed) {
      this.#streamed = false;
      this.#finished?.('copy');
    }
    releaseClient(this.#client, discard);
  }
}
