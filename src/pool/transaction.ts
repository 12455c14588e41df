import { type IsolationLevel, type Kysely, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import { isRetryableTransactionError } from '../errors/map-error.js';
import type { Logger } from '../logging/logger.js';
import { parseInput } from '../validation/parse-input.js';
import { withActingUserForBegin } from './acting-user.js';

/**
 * Options of `cb.transaction()`.
 *
 * @example
 * ```ts
 * import { TransactionOptionsSchema } from 'carebase/schemas';
 * // A job runner reads each job's transaction settings from its JSON config and rejects bad ones upfront.
 * const options = TransactionOptionsSchema.parse({ isolation: 'repeatable read', retries: 2 });
 * await cb.transaction((tx) => tx.sessions.purgeExpired(), options);
 * ```
 */
export const TransactionOptionsSchema = z.strictObject({
  /**
   * Isolation level of the transaction.
   * @default the server's default (normally `read committed`)
   */
  isolation: z.enum(['read committed', 'repeatable read', 'serializable']).optional(),
  /**
   * How many times to re-run the callback after a serialization failure (40001) or a deadlock
   * (40P01). Other errors are never retried. The callback must therefore be safe to re-run: keep
   * side effects outside the database (emails, HTTP calls) out of it.
   * @default 3
   */
  retries: z.number().int().min(0).max(20).optional(),
  /** Base delay of the jittered exponential backoff between retries, in ms. @default 10 */
  retryDelayMs: z.number().int().min(0).max(10_000).optional(),
});

/**
 * Options of `cb.transaction()`.
 *
 * @example
 * ```ts
 * import type { TransactionOptions } from 'carebase';
 * const serializable: TransactionOptions = { isolation: 'serializable', retries: 5, retryDelayMs: 20 };
 * await cb.transaction(async (tx) => {
 *   await tx.users.setRole(userId, 'clinician');
 *   await tx.sessions.revokeAllForUser(userId);
 * }, serializable);
 * ```
 */
export interface TransactionOptions {
  /**
   * Isolation level of the transaction.
   * @default the server's default (normally `read committed`)
   */
  readonly isolation?: 'read committed' | 'repeatable read' | 'serializable' | undefined;
  /**
   * How many times to re-run the callback after a serialization failure (40001) or a deadlock
   * (40P01). Other errors are never retried. The callback must therefore be safe to re-run: keep
   * side effects outside the database (emails, HTTP calls) out of it.
   * @default 3
   */
  readonly retries?: number | undefined;
  /** Base delay of the jittered exponential backoff between retries, in ms. @default 10 */
  readonly retryDelayMs?: number | undefined;
}

let savepointCounter = 0;

function backoff(attempt: number, baseMs: number): Promise<void> {
  const cap = baseMs * 2 ** attempt;
  const delay = cap / 2 + Math.random() * (cap / 2);
  return new Promise((resolve) => setTimeout(resolve, delay));
}

/**
 * Runs `fn` in a transaction on `db` and returns its result. On a serialization failure or a
 * deadlock the whole transaction is rolled back and `fn` runs again, up to `retries` times, with
 * jittered exponential backoff. Any other error rolls back and is rethrown as a carebase error.
 *
 * When `db` is already a transaction, `fn` runs inside a savepoint instead: a failure rolls back
 * to the savepoint and rethrows, leaving the outer transaction usable; retries are the outer
 * transaction's business.
 *
 * `actingUserId` (row-level security, `rls: true`): a new transaction first sets
 * `carebase.actor_user_id` to it, transaction-local, so the policies of migration 0043 show that
 * user's rows; `undefined` sends nothing (the default, no extra round trip). `systemScope` likewise
 * sets `carebase.system_scope` (migration 0047: `analytics` shows every analytics row).
 */
export async function runTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
  options: TransactionOptions | undefined,
  logger: Logger,
  actingUserId?: string,
  systemScope?: string,
): Promise<T> {
  const parsed = parseInput(TransactionOptionsSchema, options ?? {}, 'transaction options');
  if (db.isTransaction) return runInSavepoint(db as Transaction<DB>, fn);
  const retries = parsed.retries ?? 3;
  const baseDelay = parsed.retryDelayMs ?? 10;
  for (let attempt = 0; ; attempt++) {
    try {
      let builder = db.transaction();
      if (parsed.isolation !== undefined)
        builder = builder.setIsolationLevel(parsed.isolation as IsolationLevel);
      if (actingUserId === undefined && systemScope === undefined) return await builder.execute(fn);
      // The settings ride on the `begin` round trip; a connection that did not send them gets them now.
      return await withActingUserForBegin({ userId: actingUserId, scope: systemScope }, (applied) =>
        builder.execute(async (trx) => {
          if (applied()) {
            if (actingUserId !== undefined) actingUsers.set(trx, actingUserId);
            if (systemScope !== undefined) systemScopes.set(trx, systemScope);
          } else {
            if (actingUserId !== undefined) await setActingUser(trx, actingUserId);
            if (systemScope !== undefined) await setSystemScope(trx, systemScope);
          }
          return fn(trx);
        }),
      );
    } catch (error) {
      // Driver errors arrive already mapped by the pool adapter; the host's own errors pass untouched.
      if (attempt >= retries || !isRetryableTransactionError(error)) throw error;
      logger.debug({ attempt: attempt + 1, sqlState: error.sqlState }, 'carebase: retrying transaction');
      await backoff(attempt, baseDelay);
    }
  }
}

/** The row-level security user last set on each open transaction (by {@link setActingUser}). */
const actingUsers = new WeakMap<object, string>();

/** The row-level security user last set on `trx` by carebase, if any. */
export function actingUserOf(trx: object): string | undefined {
  return actingUsers.get(trx);
}

/**
 * Sets the row-level security user of the current transaction (`SET LOCAL`, so it ends with the
 * transaction and never leaks to the next user of a pooled or pooler connection) and returns the
 * previous value (`''` when unset). `userId` is a uuid validated by the caller, sent as a parameter.
 */
export async function setActingUser<DB>(trx: Transaction<DB>, userId: string): Promise<string> {
  actingUsers.set(trx, userId);
  const { rows } = await sql<{
    previous: string | null;
  }>`select current_setting('carebase.actor_user_id', true) as previous, set_config('carebase.actor_user_id', ${userId}, true)`.execute(
    trx,
  );
  return rows[0]?.previous ?? '';
}

/** The system scope last set on each open transaction (by {@link setSystemScope}). */
const systemScopes = new WeakMap<object, string>();

/** The system scope (`carebase.system_scope`) last set on `trx` by carebase, if any. */
export function systemScopeOf(trx: object): string | undefined {
  return systemScopes.get(trx);
}

/**
 * Sets the system scope of the current transaction (`carebase.system_scope`, `SET LOCAL`, see
 * migration 0047; `''` clears it) and returns the previous value (`''` when unset). `scope` is a
 * constant of carebase's, sent as a parameter.
 */
export async function setSystemScope<DB>(trx: Transaction<DB>, scope: string): Promise<string> {
  systemScopes.set(trx, scope);
  const { rows } = await sql<{
    previous: string | null;
  }>`select current_setting('carebase.system_scope', true) as previous, set_config('carebase.system_scope', ${scope}, true)`.execute(
    trx,
  );
  return rows[0]?.previous ?? '';
}

async function runInSavepoint<DB, T>(
  trx: Transaction<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  const name = sql.id(`carebase_sp_${++savepointCounter}`);
  await sql`savepoint ${name}`.execute(trx);
  try {
    const result = await fn(trx);
    await sql`release savepoint ${name}`.execute(trx);
    return result;
  } catch (error) {
    await sql`rollback to savepoint ${name}`.execute(trx);
    throw error;
  }
}
