import { createCarebase } from 'carebase';
import { createTestDatabase, startPostgres, type TestDatabase, type TestPostgres } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger, runLoad, unexpectedErrors } from './harness.js';

// A private throwaway cluster: this file terminates backends, which it must never do on the shared
// server. synchronous_commit is on so that an acknowledged commit is durable, as in production.
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

describe('8 workers while a backend is terminated every 200 ms for 10 s', () => {
  it('keeps the host alive, loses and duplicates nothing, types every error, and recovers', async () => {
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
            `select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = $1 and pid <> pg_backend_pid() order by random() limit 1`,
            [applicationName],
          );
          kills += rowCount ?? 0;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
    });
    await killer.end();
    const ledger = await checkLedger(database.url, report.ledger);
    const ratio = report.afterRate / report.beforeRate;
    console.log(
      JSON.stringify({
        test: 'kill',
        kills,
        exitCode: report.exitCode,
        signal: report.signal,
        acknowledged: report.acknowledged,
        ...ledger,
        errors: report.errors,
        beforeRate: Math.round(report.beforeRate),
        afterRate: Math.round(report.afterRate),
        ratio: Number(ratio.toFixed(2)),
        exitAfterDoneMs: report.exitAfterDoneMs,
      }),
    );
    expect(report.stderr).not.toMatch(/Error/);
    expect(report.finished, report.stderr).toBe(true);
    expect(report.exitCode).toBe(0);
    expect(report.exitAfterDoneMs).toBeLessThan(3_000);
    expect(kills).toBeGreaterThan(20);
    expect(report.untyped).toEqual([]);
    expect(unexpectedErrors(report.errors, ['CONNECTION_FAILED/'])).toEqual([]);
    expect(ledger).toEqual({ lost: 0, duplicates: 0 });
    expect(report.acknowledged).toBeGreaterThan(100);
    expect(ratio).toBeGreaterThanOrEqual(0.8);
    await using cb = createCarebase({ connectionString: database.url });
    expect(await cb.audit.verify()).toMatchObject({ ok: true });
  }, 60_000);
});
