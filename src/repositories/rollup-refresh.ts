import { sql } from 'kysely';
import { type CarebaseRuntime, RepositoryContext } from './context.js';

/**
 * What rollup refreshes share (analytics' hourly rollups, the chat usage ledger's daily ones): how
 * concurrent refreshes are serialized, and the background refresh that queries start.
 */

/** Behind a transaction pooler: how long a refresh step waits for a concurrent one (`lock_timeout`). */
const REFRESH_LOCK_TIMEOUT_MS = 60_000;

/**
 * Runs a refresh (`run`, a loop of {@link lockRefreshStep} transactions) serialized with every
 * other refresh under the same `key`.
 *
 * Behind a transaction pooler a session lock would be taken on one server backend and released on
 * another (leaked, and the next refresh waits forever): each step's transaction-level lock alone
 * serializes refreshes there, under a lock_timeout; a step whose snapshot predates a concurrent
 * refresh's commit fails to serialize and is retried by `atomic`. Inside the caller's transaction
 * the same holds. Otherwise the refresh lock is held for the session first, so each step's
 * repeatable-read snapshot is taken after a concurrent refresh (another replica, or a background
 * one) has finished.
 */
export function serializedRefresh<T>(
  ctx: RepositoryContext,
  key: string,
  run: (on: RepositoryContext) => Promise<T>,
): Promise<T> {
  if (ctx.db.isTransaction || ctx.config.pooler === 'transaction') return run(ctx);
  return ctx.db.connection().execute(async (db) => {
    await sql`select pg_advisory_lock(hashtext(${key}))`.execute(db);
    try {
      return await run(ctx.rebind(db));
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${key}))`.execute(db);
    }
  });
}

/**
 * The first statements of one refresh step's transaction `tx`: under a transaction pooler (in its
 * own transaction) a `lock_timeout`, then the transaction-level refresh lock of `key` (re-entrant
 * when {@link serializedRefresh} holds the session lock; the only lock inside a caller's
 * transaction). `ownTransaction` is false when the step runs in the caller's transaction.
 */
export async function lockRefreshStep(
  tx: RepositoryContext,
  key: string,
  ownTransaction: boolean,
): Promise<void> {
  if (ownTransaction && tx.config.pooler === 'transaction') {
    await sql`select set_config('lock_timeout', ${String(REFRESH_LOCK_TIMEOUT_MS)}, true)`.execute(tx.db);
  }
  await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(tx.db);
}

/** One kind of rollup a {@link BackgroundRollupRefresh} keeps fresh. */
export interface RollupRefreshJob {
  /** For the log line of a failed refresh, e.g. `analytics rollup`. */
  readonly label: string;
  /** When the rollups were last refreshed (by anyone), from their state row. */
  lastRefreshedAt(root: RepositoryContext): Promise<Date | null | undefined>;
  refresh(root: RepositoryContext): Promise<unknown>;
}

/**
 * A rollup refresh that queries start in the background every `analytics.autoRefreshIntervalMs`:
 * at most one in flight per instance and job, checked at most once a minute, failures logged at
 * `warn` (code only) and never thrown into the host. `close()` (called by `cb.close()` through the
 * runtime's close hook) starts no new refresh and awaits the running one.
 */
export class BackgroundRollupRefresh {
  readonly #runtime: CarebaseRuntime;
  readonly #job: RollupRefreshJob;
  #task: Promise<void> | undefined;
  #checkedAt: number | undefined;
  #closed = false;

  constructor(runtime: CarebaseRuntime, job: RollupRefreshJob) {
    this.#runtime = runtime;
    this.#job = job;
  }

  /** Starts a refresh in the background when one is due and none is running. */
  maybeStart(): void {
    const runtime = this.#runtime;
    const interval = runtime.config.analytics.autoRefreshIntervalMs;
    if (interval === 0 || this.#closed || this.#task !== undefined) return;
    const nowMs = runtime.config.clock.now().getTime();
    if (this.#checkedAt !== undefined && nowMs - this.#checkedAt < Math.min(interval, 60_000)) return;
    this.#checkedAt = nowMs;
    const root = new RepositoryContext(runtime, runtime.db, undefined);
    const job = this.#job;
    this.#task = (async () => {
      const last = await job.lastRefreshedAt(root);
      if (last !== null && last !== undefined && root.now().getTime() - last.getTime() < interval) return;
      await job.refresh(root);
    })()
      .catch((error: unknown) => {
        runtime.config.logger.warn(
          { code: (error as { code?: string }).code },
          `carebase: background ${job.label} refresh failed`,
        );
      })
      .finally(() => {
        this.#task = undefined;
      });
  }

  /** Starts no new refresh and awaits the one in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#task;
  }
}
