import { type CarebaseRuntime, RuntimeState } from '../context.js';
import { BackgroundRollupRefresh } from '../rollup-refresh.js';
import { refreshRollups } from './refresh-rollups.js';

const BACKGROUND_REFRESH = new RuntimeState(
  'analytics background refresh',
  (runtime) =>
    new BackgroundRollupRefresh(runtime, {
      label: 'analytics rollup',
      async lastRefreshedAt(root) {
        const rows = await root.db.selectFrom('analytics_rollup_state').select('refreshed_at').execute();
        return rows[0]?.refreshed_at;
      },
      // Under row-level security the refresh reads every user's events (`carebase.system_scope`).
      refresh: (root) => refreshRollups(root.asSystem('analytics')),
    }),
);

/**
 * The background refresh of a carebase instance's analytics rollups (one per instance, on its
 * runtime), started by analytics queries; see {@link BackgroundRollupRefresh}.
 */
export function backgroundRefreshOf(runtime: CarebaseRuntime): BackgroundRollupRefresh {
  return runtime.state(BACKGROUND_REFRESH);
}
