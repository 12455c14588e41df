import { randomBytes } from 'node:crypto';
import type { Carebase } from 'carebase';
import { grantAppRole } from 'carebase/migration';
import { createTestDatabase, startPostgres, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { startPgBouncer } from './pgbouncer.js';
import { insertUser } from './users.js';

/** Turns row-level security on for `database`'s tables, as a deploy would (owner, app role). */
export async function enableRowSecurity(database: TestDatabase): Promise<void> {
  const role = decodeURIComponent(new URL(database.url).username);
  await grantAppRole(database.ownerUrl, { role, rowSecurity: true });
}

/** A user row inserted directly (no password hashing), returning its id. */
export function newUser(cb: Carebase, prefix: string): Promise<string> {
  return insertUser(cb, `${prefix}_${randomBytes(4).toString('hex')}`);
}

/**
 * A throwaway server with an app-role database whose row-level security is on
 * ({@link enableRowSecurity}), behind a PgBouncer in transaction mode for the app role.
 */
export interface RlsBehindPgBouncer {
  readonly database: TestDatabase;
  /** The app role's URL of `database`, through PgBouncer. */
  readonly url: string;
  /** Stops PgBouncer, drops the database and stops the server (close carebase instances first). */
  stop(): Promise<void>;
}

/** Starts an {@link RlsBehindPgBouncer} (~2 s here); whatever started is stopped when a step fails. */
export async function startRlsBehindPgBouncer(): Promise<RlsBehindPgBouncer> {
  const server = await startPostgres({ provider: 'local', log: false });
  const stops: (() => Promise<void>)[] = [() => server.stop()];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const database = await createTestDatabase({ serverUrl: server.url, spares: 0, role: 'app' });
    stops.push(() => database.drop());
    await enableRowSecurity(database);
    const app = new URL(database.url);
    const bouncer = await startPgBouncer({
      serverPort: Number(new URL(server.url).port),
      users: [{ name: decodeURIComponent(app.username), password: decodeURIComponent(app.password) }],
      poolSize: 2,
    });
    stops.push(() => bouncer.stop());
    return { database, url: bouncer.urlFor(database.url), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs `fn` on one connection to `url` inside a transaction (rolled back), as raw host SQL would. */
export async function rawTransaction<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('begin');
    return await fn(client);
  } finally {
    await client.query('rollback').catch(() => {});
    await client.end();
  }
}

/** The rows of `carebase.<table>` that `client` sees matching `where`. */
export async function count(
  client: pg.Client,
  table: string,
  where = 'true',
  params: unknown[] = [],
): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `select count(*) as n from carebase.${table} where ${where}`,
    params,
  );
  return Number(rows[0]?.n);
}

/** Sets the acting user of `client`'s transaction, as carebase does with `begin`. */
export async function actAs(client: pg.Client, userId: string): Promise<void> {
  await client.query("select set_config('carebase.actor_user_id', $1, true)", [userId]);
}
