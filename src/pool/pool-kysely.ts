import {
  type AbortableOperationOptions,
  type AbortableQueryOptions,
  type CompiledQuery,
  type ConnectionProvider,
  type DatabaseConnection,
  type DialectAdapter,
  Kysely,
  type KyselyPlugin,
  PostgresDialect,
  PostgresDriver,
  type PostgresQueryResult,
  type QueryExecutor,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
} from 'kysely';
import Cursor from 'pg-cursor';
import type { CarebaseDatabase } from '../schema/database.js';
import type { CarebaseKyselyPool } from './kysely-pool.js';
import { SchemaPlugin } from './schema-plugin.js';

/**
 * The Kysely instance of a carebase pool (`cb.db`, a replica's `db`): Kysely's `PostgresDialect`
 * over `connections`, with carebase's schema plugin, whose single statements outside a
 * transaction skip Kysely's connection layers (see {@link PoolQueryExecutor}).
 */
export function poolKysely(connections: CarebaseKyselyPool, schema: string): Kysely<CarebaseDatabase> {
  const dialect = new PostgresDialect({ pool: connections, cursor: Cursor });
  const plugins = [new SchemaPlugin(schema)];
  const standard = new Kysely<CarebaseDatabase>({ dialect, plugins });
  return new Kysely<CarebaseDatabase>({
    config: { dialect, plugins },
    dialect,
    driver: new StatementsDriver(connections),
    executor: new PoolQueryExecutor(standard.getExecutor(), connections),
  });
}

/**
 * The driver Kysely's transactions call: PostgresDriver's begin, commit, rollback and savepoint
 * statements, which run on the connection the executor provided and read nothing else of the
 * driver. Connections come from the standard Kysely instance's driver (initialized, honouring abort signals),
 * never from this one. `destroy()` ends the pool adapter, as PostgresDriver's does, whether or not
 * a statement ever went through Kysely's driver; later calls fail with ClosedError.
 */
class StatementsDriver extends PostgresDriver {
  readonly #connections: CarebaseKyselyPool;

  constructor(connections: CarebaseKyselyPool) {
    super({ pool: connections });
    this.#connections = connections;
  }

  override acquireConnection(): Promise<DatabaseConnection> {
    return Promise.reject(new Error('carebase: connections come from the executor'));
  }

  override destroy(): Promise<void> {
    return this.#connections.end();
  }
}

/**
 * Kysely's executor of a carebase pool, with a shorter path for the commonest call: one statement
 * outside a transaction, with no abort signal and no plugin but carebase's schema plugin (whose
 * results pass through unchanged). That statement checks out a pooled connection, runs and
 * releases it directly, without Kysely's driver and connection-provider layers, each an async hop
 * (about 5 µs of client CPU on a trivial query, a fifth of it). Everything else (transactions,
 * `connection()`, streams, signals, other plugins) goes through Kysely's own executor, `inner`.
 */
class PoolQueryExecutor implements QueryExecutor {
  readonly #inner: QueryExecutor;
  /** The pool to run single statements on; undefined when the short path does not apply. */
  readonly #connections: CarebaseKyselyPool | undefined;

  constructor(inner: QueryExecutor, connections: CarebaseKyselyPool | undefined) {
    this.#inner = inner;
    this.#connections =
      connections !== undefined && inner.plugins.every((plugin) => plugin instanceof SchemaPlugin)
        ? connections
        : undefined;
  }

  get adapter(): DialectAdapter {
    return this.#inner.adapter;
  }

  get plugins(): ReadonlyArray<KyselyPlugin> {
    return this.#inner.plugins;
  }

  transformQuery<T extends RootOperationNode>(node: T, queryId: QueryId): T {
    return this.#inner.transformQuery(node, queryId);
  }

  compileQuery<R = unknown>(node: RootOperationNode, queryId: QueryId): CompiledQuery<R> {
    return this.#inner.compileQuery(node, queryId);
  }

  executeQuery<R>(compiledQuery: CompiledQuery<R>, options?: AbortableQueryOptions): Promise<QueryResult<R>> {
    const connections = this.#connections;
    if (connections === undefined || options?.signal !== undefined) {
      return this.#inner.executeQuery(compiledQuery, options);
    }
    return connections.run(compiledQuery.sql, compiledQuery.parameters, toQueryResult<R>);
  }

  stream<R>(
    compiledQuery: CompiledQuery<R>,
    chunkSize: number,
    options?: AbortableOperationOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.stream(compiledQuery, chunkSize, options);
  }

  provideConnection<T>(
    consumer: (connection: DatabaseConnection) => Promise<T>,
    options?: AbortableOperationOptions,
  ): Promise<T> {
    return this.#inner.provideConnection(consumer, options);
  }

  withConnectionProvider(connectionProvider: ConnectionProvider): QueryExecutor {
    // A transaction's or connection()'s executor: its statements run on the connection it holds.
    return this.#inner.withConnectionProvider(connectionProvider);
  }

  withPlugin(plugin: KyselyPlugin): QueryExecutor {
    return new PoolQueryExecutor(this.#inner.withPlugin(plugin), this.#connections);
  }

  withPlugins(plugins: ReadonlyArray<KyselyPlugin>): QueryExecutor {
    return new PoolQueryExecutor(this.#inner.withPlugins(plugins), this.#connections);
  }

  withPluginAtFront(plugin: KyselyPlugin): QueryExecutor {
    return new PoolQueryExecutor(this.#inner.withPluginAtFront(plugin), this.#connections);
  }

  withoutPlugins(): QueryExecutor {
    return new PoolQueryExecutor(this.#inner.withoutPlugins(), this.#connections);
  }
}

/** A statement's result in Kysely's shape (as `PostgresDriver` gives it). */
function toQueryResult<R>({ command, rowCount, rows }: PostgresQueryResult<R>): QueryResult<R> {
  if (command === 'ROLLBACK' || command === 'COMMIT') return { rows: [{ command } as R] };
  const affected =
    command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
  return affected ? { numAffectedRows: BigInt(rowCount as number), rows: rows ?? [] } : { rows: rows ?? [] };
}
