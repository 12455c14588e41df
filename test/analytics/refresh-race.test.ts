import { createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const hour = new Date('2026-01-01T00:00:00Z');
const range = { from: hour, to: new Date('2026-01-02T00:00:00Z') };

it('keeps a late event whose hour is already dirty when a refresh races its transaction', async () => {
  await using cb = createCarebase({
    connectionString: database.url,
    analytics: { autoRefreshIntervalMs: 0 },
  });
  // A committed late event: its hour is marked dirty.
  await cb.analytics.track({
    eventType: 'feature',
    eventName: 'a',
    occurredAt: new Date(hour.getTime() + 1000),
  });

  // A second late event into the same hour, in a transaction still open while a refresh runs.
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let inserted: () => void = () => {};
  const insertedYet = new Promise<void>((resolve) => {
    inserted = resolve;
  });
  const writer = cb.transaction(async (tx) => {
    await tx.analytics.track({
      eventType: 'feature',
      eventName: 'b',
      occurredAt: new Date(hour.getTime() + 2000),
    });
    inserted();
    await gate;
  });
  await insertedYet;
  const refresh = cb.analytics.refreshRollups();
  await new Promise((resolve) => setTimeout(resolve, 300)); // the refresh reaches the dirty hour
  release();
  await writer;
  await refresh;

  // Whatever the interleaving, no event is lost: rolled-up or still dirty, the summary is exact,
  // and after one more refresh the rollups themselves hold both events.
  expect((await cb.analytics.summary(range)).totalEvents).toBe(2);
  await cb.analytics.refreshRollups();
  const { rows } = await sql<{ n: string }>`select coalesce(sum(events), 0) as n
    from ${sql.id('carebase', 'analytics_rollup_hourly')} where hour = ${hour}`.execute(cb.db);
  expect(Number(rows[0]?.n)).toBe(2);
  expect((await cb.analytics.summary(range)).totalEvents).toBe(2);
});
