import { AbortError, MigrationError } from '../errors/errors.js';
import { toCarebaseError } from '../errors/map-error.js';
import type { Logger } from '../logging/logger.js';
import {
  describeHolders,
  maintenanceLockHolders,
  releaseMaintenanceLock,
  tryMaintenanceLock,
} from '../sql/maintenance-lock.js';
import type { SqlConnection } from './connection.js';

/** Both halves of the advisory lock key of one namespace in one carebase schema. */
const LOCK_KEY_SQL = "hashtext('carebase.migrate'), hashtext($1 || ':' || $2)";

/** How long {@link acquireMigrationLock} waits by default. */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/**
 * Takes, on `connection`, the database's maintenance lock exclusively (so no backup runs while
 * migrations do) and then the session-level advisory lock of `namespace`, polling
 * `pg_try_advisory_lock` with backoff (50 ms doubling to 1 s) until `timeoutMs`. Polling from
 * autocommit statements, never a blocking `pg_advisory_lock` inside a transaction, is what keeps
 * a waiting runner from deadlocking a `CREATE INDEX CONCURRENTLY` run by the lock holder (which
 * waits for every open transaction to end).
 *
 * Throws `MigrationError` naming the holder (a backup, or another migration runner) when a lock
 * is still held at the deadline, and `AbortError` when `signal` fires while waiting.
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
    if (await tryMaintenanceLock(connection, 'exclusive')) {
      const { rows } = await connection.query<{ locked: boolean }>(
        `select pg_try_advisory_lock(${LOCK_KEY_SQL}) as locked`,
        [schema, namespace],
      );
      if (rows[0]?.locked === true) return;
      await releaseMaintenanceLock(connection, 'exclusive');
    }
    if (options.signal?.aborted) throw new AbortError({ cause: options.signal.reason });
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const holders = await maintenanceLockHolders(connection);
      const backups = holders.filter((holder) => holder.kind === 'backup');
      throw new MigrationError(
        backups.length > 0
          ? `timed out after ${options.timeoutMs} ms waiting for a backup of this database to finish ` +
              `(${describeHolders(backups)}): migrations and backups never run at once; migrate when it is done`
          : `timed out after ${options.timeoutMs} ms waiting for the migration lock of ${schema}/${namespace}: ` +
              `another migration runner holds it${holders.length > 0 ? ` (${describeHolders(holders)})` : ''} ` +
              '(raise lockTimeoutMs, or find the session in pg_locks)',
      );
    }
    await sleep(Math.min(delay, remaining), options.signal);
    delay = Math.min(delay * 2, 1000);
  }
}

/** Releases the locks taken by {@link acquireMigrationLock}. */
export async function releaseMigrationLock(
  connection: SqlConnection,
  schema: string,
  namespace: string,
): Promise<void> {
  await connection.query(`select pg_advisory_unlock(${LOCK_KEY_SQL})`, [schema, namespace]);
  await releaseMaintenanceLock(connection, 'exclusive');
}

/**
 * Runs `work` while holding the lock of `namespace`; releases it afterwards, even on failure.
 * A broken connection cannot keep the lock: the server releases it when the session ends.
 */
export async function withMigrationLock<T>(
  connection: SqlConnection,
  schema: string,
  namespace: string,
  options: { timeoutMs: number; signal?: AbortSignal | undefined; logger: Logger },
  work: () => Promise<T>,
): Promise<T> {
  await acquireMigrationLock(connection, schema, namespace, options);
  try {
    return await work();
  } finally {
    await releaseMigrationLock(connection, schema, namespace).catch((error: unknown) => {
      options.logger.warn(
        { namespace, code: toCarebaseError(error).code },
        'carebase: could not release the migration lock (the session will release it when it ends)',
      );
    });
  }
}

/** Resolves after `ms`, or as soon as `signal` fires. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
