import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import { toCarebaseError } from '../errors/map-error.js';
import { carebaseClientClass } from '../pool/carebase-client.js';
import { checkoutClient, clientFailure, releaseClient } from '../pool/checkout.js';

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
    // Watched from construction: a dropped connection surfaces as the failure of the next query
    // instead of an unheard 'error' event that would crash the process.
    const client = new (carebaseClientClass())({ connectionString: target });
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
  const client = await checkoutClient(target);
  try {
    return await work(pgConnection(client));
  } finally {
    releaseClient(client);
  }
}

/** Duck-typed so a Kysely from another copy of the package (ESM vs CJS) is still recognised. */
function isKysely<DB>(target: MigrationTarget<DB>): target is Kysely<DB> {
  return typeof target === 'object' && typeof (target as Kysely<DB>).executeQuery === 'function';
}

function pgConnection(client: pg.ClientBase): SqlConnection {
  return {
    async query<R>(text: string, values: readonly unknown[] = []) {
      try {
        const result = await client.query(text, values as unknown[]);
        return { rows: result.rows as R[] };
      } catch (error) {
        // A lost connection is marked, so the pool path destroys it on release.
        throw clientFailure(client, error);
      }
    },
  };
}
