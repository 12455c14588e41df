import { randomBytes } from 'node:crypto';
import type { Carebase } from 'carebase';
import { grantAppRole } from 'carebase/migration';
import type { TestDatabase } from 'carebase/testing';
import pg from 'pg';

/** Turns row-level security on for `database`'s tables, as a deploy would (owner, app role). */
export async function enableRowSecurity(database: TestDatabase): Promise<void> {
  const role = decodeURIComponent(new URL(database.url).username);
  await grantAppRole(database.ownerUrl, { role, rowSecurity: true });
}

/** A user row inserted directly (no password hashing), returning its id. */
export async function newUser(cb: Carebase, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const row = await cb.db
    .insertInto('users')
    .values({ username: name, email: `${name}@example.org`, password_hash: 'x', role: 'nurse' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
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
