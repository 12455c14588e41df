import { AbortError, MigrationError } from '../errors/errors.js';
import type { SqlConnection } from './connection.js';

/** Both halves of the advisory lock key of one namespace in one carebase schema. */
const LOCK_KEY_SQL = "hashtext('carebase.migrate'), hashtext($1 || ':' || $2)";

/**
 * Takes the session-level advisory lock of `namespace` on `connection`, polling
 * `pg_try_advisory_lock` with backoff (50 ms doubling to 1 s) until `timeoutMs`. Polling from
 * autocommit statements, never a blocking `pg_advisory_lock` inside a transaction, is what keeps
 * a waiting runner from deadlocking a `CREATE INDEX CONCURRENTLY` run by the lock holder.
 */
export async function acquireMigrationLock(
  connection: SqlConnection,
  schema: string,
  namespace: string,
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 50;
  for (;;) {
    const { rows } = await connection.query<{ locked: boolean }>(
      `select pg_try_advisory_lock(${LOCK_KEY_SQL}) as locked`,
      [schema, namespace],
    );
    if (rows[0]?.locked === true) return;
    if (options.signal?.aborted) throw new AbortError({ cause: options.signal.reason });
    if (Date.now() + delay > deadline) {
      throw new MigrationError(
        `another migration runner held the lock of ${schema}/${namespace} for longer than ${options.timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

/** Releases the lock taken by {@link acquireMigrationLock}. */
export async function releaseMigrationLock(
  connection: SqlConnection,
  schema: string,
  namespace: string,
): Promise<void> {
  await connection.query(`select pg_advisory_unlock(${LOCK_KEY_SQL})`, [schema, namespace]);
}
