import { CompiledQuery } from 'kysely';

/**
 * The rows of a `COPY ... FROM STDIN` run through Kysely: passed as the statement's only
 * parameter, so the COPY runs on whatever connection the executor holds (inside
 * `cb.transaction()`, the transaction's own connection: never a second one).
 * {@link PooledConnection} recognizes it and streams the chunks instead of sending parameters.
 */
export class CopyInSource {
  readonly chunks: Iterable<Buffer>;

  constructor(chunks: Iterable<Buffer>) {
    this.chunks = chunks;
  }
}

/**
 * A compiled `COPY ... FROM STDIN` statement with its rows, for `executeQuery` on any Kysely
 * executor of carebase's pool. The result's `numAffectedRows` is the number of rows copied.
 */
export function copyInQuery(statement: string, chunks: Iterable<Buffer>): CompiledQuery {
  return CompiledQuery.raw(statement, [new CopyInSource(chunks)]);
}
