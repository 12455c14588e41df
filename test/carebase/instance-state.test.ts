import { createCarebase, type Logger } from 'carebase';
import { createTestDatabase } from 'carebase/testing';
import { describe, expect, it } from 'vitest';

/**
 * Per-instance state lives on the instance's runtime, and `close()` awaits the work it owns before
 * the pool ends: here the analytics refresh a query starts in the background.
 */
function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const noop = () => {};
  return {
    warnings,
    logger: { debug: noop, info: noop, error: noop, warn: (_obj, msg) => warnings.push(msg ?? '') },
  };
}

describe('instance state', () => {
  it('close() awaits a background refresh started by a query, which then never fails', async () => {
    const fresh = await createTestDatabase();
    try {
      const { logger, warnings } = recordingLogger();
      const cb = createCarebase({
        connectionString: fresh.url,
        logger,
        analytics: { autoRefreshIntervalMs: 1 },
      });
      await cb.analytics.summary({ from: new Date(Date.now() - 86_400_000), to: new Date() });
      await cb.close();
      // The refresh the query started has finished (and recorded its run) by the time close() resolved.
      const state = await fresh.db.db.selectFrom('analytics_rollup_state').select('refreshed_at').execute();
      expect(state[0]?.refreshed_at).toBeInstanceOf(Date);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warnings).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });
});
