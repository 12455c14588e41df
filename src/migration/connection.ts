import { CompiledQuery, type Kysely } from 'kysely';
import pg from 'pg';
import { toCarebaseError } from '../errors/map-error.js';

/** A single database connection the runner holds for a whole run (lock, migrations, unlock). */
export interface SqlConnection {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/**
 * Where migrations run: a Kysely instance (any database type), a `pg.Pool`, or a connection
 * string. The runner takes one connection from it and keeps it for the whole run.
 *
 * @example
 * ```ts
 * import { migrationStatus, type MigrationTarget } from 'carebase/migration';
 * // A deploy script: a dedicated URL when given, otherwise the app's own pool.
 * const target: MigrationTarget = process.env.MIGRATE_DATABASE_URL ?? cb.pool;
 * console.log(await migrationStatus(target));
 * ```
 */
export type MigrationTarget<DB = unknown> = Kysely<DB> | pg.Pool | string;

/**
 * Runs `work` on one dedicated connection of `target`; the connection is released (or, for a
 * connection string, closed) afterwards. Driver errors reach `work`'s caller as carebase errors.
 */
export async function withConnection<DB, T>(
  target: MigrationTarget<DB>,
  work: (connection: SqlConnection) => Promise<T>,
): Promise<T> {
  if (isKysely(target)) {
    return target.connection().execute((db) =>
      work({
        async query<R>(text: string, values: readonly unknown[] = []) {
          try {
            const result = await db.executeQuery<R>(CompiledQuery.raw(text, [...values]));
            return { rows: [...result.rows] };
          } catch (error) {
            throw toCarebaseError(error);
          }
        },
      }),
    );
  }
  if (typeof target === 'string') {
    const client = new pg.Client({ connectionString: target });
    // A dropped connection surfaces as the failure of the next query; without a listener, the
    // client's 'error' event would crash the process instead.
    client.on('error', ignore);
    try {
      await client.connect();
    } catch (error) {
      throw toCarebaseError(error);
    }
    try {
      return await work(pgConnection(client));
    } finally {
      await client.end().catch(() => {});
    }
  }
  let client: pg.PoolClient;
  try {
    client = await target.connect();
  } catch (error) {
    throw toCarebaseError(error);
  }
  let broken = false;
  client.on('error', ignore);
  try {
    return await work(
      pgConnection(client, () => {
        broken = true;
      }),
    );
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}

function ignore(): void {}

/** Duck-typed so a Kysely from another copy of the package (ESM vs CJS) is still recognised. */
function isKysely<DB>(target: MigrationTarget<DB>): target is Kysely<DB> {
  return typeof target === 'object' && typeof (target as Kysely<DB>).executeQuery === 'function';
}

function pgConnection(client: pg.ClientBase, onError?: () => void): SqlConnection {
  return {
    async query<R>(text: string, values: readonly unknown[] = []) {
      try {
        const result = await client.query(text, values as unknown[]);
        return { rows: result.rows as R[] };
      } catch (error) {
        const mapped = toCarebaseError(error);
        if (mapped.code === 'CONNECTION_FAILED') onError?.();
        throw mapped;
      }
    },
  };
}
