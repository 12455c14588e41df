import { createCarebase } from 'carebase';
import {
  createTestDatabase,
  type RestartMode,
  startPostgres,
  type TestDatabase,
  type TestPostgres,
} from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger, runLoad, unexpectedErrors } from './harness.js';

// A private throwaway cluster, restarted mid-load (never the shared server). synchronous_commit
// is on so that an acknowledged commit survives even the immediate (crash) mode.
let server: TestPostgres;
let database: TestDatabase;

beforeAll(async () => {
  server = await startPostgres({ provider: 'local', local: { settings: { synchronous_commit: 'on' } } });
  database = await createTestDatabase({ serverUrl: server.url, spares: 0 });
}, 120_000);

afterAll(async () => {
  await database?.drop();
  await server?.stop();
});

describe.each<RestartMode>(['fast', 'immediate'])('8 workers while the server restarts (-m %s)', (mode) => {
  it('keeps the host alive, loses nothing, and succeeds again within 1 s of the server accepting connections', async () => {
    let stoppedAt = 0;
    let readyAt = 0;
    const report = await runLoad({
      url: database.url,
      applicationName: `carebase-fault-restart-${mode}`,
      phases: { warmupMs: 1_000, beforeMs: 2_000, faultMs: 4_000, afterMs: 3_000 },
      async fault() {
        await new Promise((resolve) => setTimeout(resolve, 200));
        stoppedAt = Date.now();
        await server.restart({ mode });
        readyAt = Date.now();
      },
    });
    const ledger = await checkLedger(database.url, report.ledger);
    const firstSuccess = report.successTimes.find((t) => t >= readyAt);
    const ratio = report.afterRate / report.beforeRate;
    console.log(
      JSON.stringify({
        test: `restart-${mode}`,
        exitCode: report.exitCode,
        signal: report.signal,
        downMs: readyAt - stoppedAt,
        firstSuccessAfterReadyMs: firstSuccess === undefined ? null : firstSuccess - readyAt,
        acknowledged: report.acknowledged,
        ...ledger,
        errors: report.errors,
        samples: report.samples,
        beforeRate: Math.round(report.beforeRate),
        afterRate: Math.round(report.afterRate),
        ratio: Number(ratio.toFixed(2)),
        exitAfterDoneMs: report.exitAfterDoneMs,
      }),
    );
    expect(report.finished, report.stderr).toBe(true);
    expect(report.exitCode).toBe(0);
    expect(report.exitAfterDoneMs).toBeLessThan(3_000);
    expect(readyAt).toBeGreaterThan(0);
    expect(firstSuccess).toBeDefined();
    expect((firstSuccess ?? Number.POSITIVE_INFINITY) - readyAt).toBeLessThanOrEqual(1_000);
    expect(report.untyped).toEqual([]);
    expect(unexpectedErrors(report.errors, ['CONNECTION_FAILED/'])).toEqual([]);
    expect(ledger).toEqual({ lost: 0, duplicates: 0 });
    expect(ratio).toBeGreaterThanOrEqual(0.8);
    await using cb = createCarebase({ connectionString: database.url });
    expect(await cb.audit.verify()).toMatchObject({ ok: true });
  }, 60_000);
});
