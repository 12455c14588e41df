import { createCarebase } from 'carebase';
import {
  createTestDatabase,
  type RestartMode,
  startPostgres,
  type TestDatabase,
  type TestPostgres,
} from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger, type LoadReport, runLoad, unexpectedErrors } from './harness.js';

// The fault loads, one after the other (their throughput windows must not overlap), on a private
// throwaway cluster: they terminate backends and restart the server, which they must never do to
// the shared one. synchronous_commit is on, so an acknowledged commit is durable as in production
// (the test settings turn it off), even through the immediate (crash) restart.
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

/** What every load must show, whatever the fault: the figures the issue asks for. */
async function expectSurvived(report: LoadReport, figures: Record<string, unknown>): Promise<void> {
  const ledger = await checkLedger(database.url, report.ledger);
  const ratio = report.afterRate / report.beforeRate;
  console.log(
    JSON.stringify({
      ...figures,
      crashed: report.exitCode !== 0 || !report.finished,
      acknowledged: report.acknowledged,
      ...ledger,
      untyped: report.untyped.length,
      errors: report.errors,
      beforeRate: Math.round(report.beforeRate),
      afterRate: Math.round(report.afterRate),
      ratio: Number(ratio.toFixed(2)),
      exitAfterDoneMs: report.exitAfterDoneMs,
    }),
  );
  expect(report.finished, report.stderr).toBe(true);
  expect(report.exitCode, report.stderr).toBe(0);
  // It exits by itself once cb.close() returned: nothing left running.
  expect(report.exitAfterDoneMs).toBeLessThan(3_000);
  expect(report.untyped).toEqual([]);
  expect(unexpectedErrors(report.errors, ['CONNECTION_FAILED/']), JSON.stringify(report.samples)).toEqual([]);
  expect(report.acknowledged).toBeGreaterThan(100);
  expect(ledger).toEqual({ lost: 0, duplicates: 0 });
  expect(ratio).toBeGreaterThanOrEqual(0.8);
  await using cb = createCarebase({ connectionString: database.url });
  expect(await cb.audit.verify()).toMatchObject({ ok: true });
}

describe('8 workers under faults, with no process-level error handlers', () => {
  it('a backend terminated every 200 ms for 10 s: the host survives, nothing is lost or doubled, every error is typed, throughput recovers', async () => {
    const applicationName = 'carebase-fault-kill';
    const killer = new pg.Client({ connectionString: server.url });
    killer.on('error', () => {});
    await killer.connect();
    let kills = 0;
    const report = await runLoad({
      url: database.url,
      applicationName,
      phases: { warmupMs: 1_000, beforeMs: 3_000, faultMs: 10_000, afterMs: 5_000 },
      async fault(windowClosed) {
        let open = true;
        void windowClosed.then(() => {
          open = false;
        });
        while (open) {
          const { rowCount } = await killer.query(
            // A backend in use when there is one (mid-query or in a transaction), else an idle one.
            `select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = $1 and pid <> pg_backend_pid()
              order by state = 'idle', random() limit 1`,
            [applicationName],
          );
          kills += rowCount ?? 0;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
    });
    await killer.end();
    expect(kills).toBeGreaterThan(20);
    await expectSurvived(report, { test: 'kill every 200 ms', kills });
  }, 60_000);

  it.each<RestartMode>(['fast', 'immediate'])(
    'pg_ctl restart -m %s mid-load: the same, and the first success within 1 s of the server accepting connections',
    async (mode) => {
      let stoppedAt = 0;
      let readyAt = 0;
      const report = await runLoad({
        url: database.url,
        applicationName: `carebase-fault-restart-${mode}`,
        phases: { warmupMs: 1_000, beforeMs: 3_000, faultMs: 2_000, afterMs: 5_000 },
        async fault() {
          await new Promise((resolve) => setTimeout(resolve, 200));
          stoppedAt = Date.now();
          await server.restart({ mode });
          readyAt = Date.now();
        },
      });
      const firstSuccess = report.successTimes.find((t) => t >= readyAt);
      const firstSuccessMs = firstSuccess === undefined ? undefined : firstSuccess - readyAt;
      expect(readyAt).toBeGreaterThan(0);
      expect(firstSuccessMs).toBeDefined();
      expect(firstSuccessMs).toBeLessThanOrEqual(1_000);
      await expectSurvived(report, {
        test: `restart -m ${mode}`,
        downMs: readyAt - stoppedAt,
        firstSuccessAfterReadyMs: firstSuccessMs,
      });
    },
    60_000,
  );
});
