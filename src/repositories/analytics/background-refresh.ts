import { type CarebaseRuntime, RepositoryContext, RuntimeState } from '../context.js';
import { refreshRollups } from './refresh-rollups.js';

/**
 * The rollup refresh that analytics queries start in the background every
 * `analytics.autoRefreshIntervalMs`: at most one in flight per instance, checked at most once a
 * minute, failures logged at `warn` (code only) and never thrown into the host. `close()` (called by
 * `cb.close()` through the runtime's close hook) starts no new refresh and awaits the running one.
 */
export class BackgroundRefresh {
  readonly #runtime: CarebaseRuntime;
  #task: Promise<void> | undefined;
  #checkedAt: number | undefined;
  #closed = false;

  constructor(runtime: CarebaseRuntime) {
    this.#runtime = runtime;
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
    this.#task = (async () => {
      const rows = await root.db.selectFrom('analytics_rollup_state').select('refreshed_at').execute();
      const last = rows[0]?.refreshed_at;
      if (last !== null && last !== undefined && root.now().getTime() - last.getTime() < interval) return;
      await refreshRollups(root);
    })()
      .catch((error: unknown) => {
        runtime.config.logger.warn(
          { code: (error as { code?: string }).code },
          'carebase: background analytics rollup refresh failed',
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

const BACKGROUND_REFRESH = new RuntimeState(
  'analytics background refresh',
  (runtime) => new BackgroundRefresh(runtime),
);

/** The background refresh of a carebase instance (one per instance, on its runtime). */
export function backgroundRefreshOf(runtime: CarebaseRuntime): BackgroundRefresh {
  return runtime.state(BACKGROUND_REFRESH);
}
