import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import { MigrationError } from '../errors/errors.js';
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
  options: { readonly session?: boolean } = {},
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
      const connection = pgConnection(client);
      if (options.session === true) await refuseThroughPooler(client, connection);
      return await work(connection);
    } finally {
      await client.end().catch(() => {});
    }
  }
  const client = await checkoutClient(target);
  try {
    const connection = pgConnection(client);
    if (options.session === true) await refuseThroughPooler(client, connection);
    return await work(connection);
  } finally {
    releaseClient(client);
  }
}

/**
 * The target of a run that needs a session of its own: `directUrl` when given, else `target`.
 */
export function sessionTarget<DB>(
  target: MigrationTarget<DB>,
  options: { readonly directUrl?: string | undefined },
): MigrationTarget<DB> {
  return options.directUrl ?? target;
}

/**
 * Throws `MigrationError` when a pooler sits between the client and the server: the backend pid
 * the server reports differs from the one announced when the connection opened (a pooler such as
 * PgBouncer, Supavisor or RDS Proxy announces its own). Migrations hold session-level locks and
 * settings for a whole run, and a transaction pooler hands each statement to any backend.
 */
async function refuseThroughPooler(client: pg.ClientBase, connection: SqlConnection): Promise<void> {
  const announced = (client as unknown as { processID?: number | null }).processID;
  if (announced === undefined || announced === null) return;
  const { rows } = await connection.query<{ pid: number }>('select pg_backend_pid() as pid');
  if (rows[0]?.pid !== announced) {
    throw new MigrationError(
      'migrations need a direct connection to the server, and this one goes through a pooler ' +
        '(its backend is not the one the connection was opened to): pass directUrl, the URL of the server itself',
      { reason: 'needs_direct_connection' },
    );
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
