import { createCarebase, isCarebaseError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const from = new Date('2026-01-01T00:00:00Z');
const to = new Date('2026-01-08T00:00:00Z');

describe('analytics query API', () => {
  it('refuses bad ranges, time zones and bucket counts before any SQL', async () => {
    await using cb = createCarebase({
      connectionString: database.url,
      analytics: { autoRefreshIntervalMs: 0 },
    });
    const attempts = [
      cb.analytics.summary({ from: to, to: from }),
      cb.analytics.summary({ from, to, userId: 'nope' }),
      cb.analytics.timeseries({ from, to, bucket: 'day', timezone: 'Mars/Olympus_Mons' }),
      cb.analytics.timeseries({ from, to, bucket: 'minute' as 'hour' }),
      cb.analytics.timeseries({ from: new Date('2000-01-01'), to, bucket: 'hour' }),
      cb.analytics.activeUsers({ from, to, bucket: 'year' as 'month' }),
      cb.analytics.topEvents({ from, to, limit: 0 }),
      cb.analytics.applyRetention({ keepMonths: 0 }),
    ];
    for (const attempt of attempts) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
    }
    expect(isCarebaseError(await cb.analytics.summary({ from, to }).catch((e: unknown) => e))).toBe(false);
  });

  it('answers inside a transaction, and refreshes rollups in the background from queries', async () => {
    await using cb = createCarebase({
      connectionString: database.url,
      analytics: { autoRefreshIntervalMs: 1 },
    });
    const user = '00000000-0000-4000-8000-000000000042';
    await cb.analytics.trackMany(
      Array.from({ length: 50 }, (_, i) => ({
        userId: i % 2 === 0 ? user : undefined,
        eventType: 'feature',
        eventName: 'chat.message_sent',
        occurredAt: new Date(from.getTime() + i * 3_600_000 + 60_000),
      })),
    );
    const inTx = await cb.transaction(async (tx) => {
      await tx.analytics.track({
        userId: user,
        eventType: 'page',
        eventName: 'page.view',
        occurredAt: new Date(from.getTime() + 5),
      });
      return tx.analytics.summary({ from, to });
    });
    expect(inTx).toEqual({
      totalEvents: 51,
      uniqueUsers: 1,
      byEvent: [
        { eventType: 'feature', eventName: 'chat.message_sent', count: 50, uniqueUsers: 1 },
        { eventType: 'page', eventName: 'page.view', count: 1, uniqueUsers: 1 },
      ],
    });
    // The summary above started a background refresh (never refreshed before).
    let rolledUpTo = 0;
    for (let i = 0; i < 300 && rolledUpTo < to.getTime(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { rows } = await sql<{ ms: number }>`select extract(epoch from rolled_up_to) * 1000 as ms
        from ${sql.id('carebase', 'analytics_rollup_state')}`.execute(cb.db);
      rolledUpTo = Number(rows[0]?.ms);
    }
    expect(rolledUpTo).toBeGreaterThanOrEqual(to.getTime());
    // That refresh may have run before the transaction committed: then the transaction's event
    // left its hour marked dirty (read from raw events, so results stay exact) until a later
    // refresh recomputes it. Refresh until the rollups hold every event.
    const rollupRows = async (): Promise<number> => {
      const { rows } = await sql<{
        n: string;
      }>`select count(*) as n from ${sql.id('carebase', 'analytics_rollup_hourly')}`.execute(cb.db);
      return Number(rows[0]?.n);
    };
    for (let i = 0; i < 20 && (await rollupRows()) < 51; i++) await cb.analytics.refreshRollups();
    expect(await rollupRows()).toBe(51);
    expect(await cb.analytics.summary({ from, to })).toEqual(inTx);
    expect(await cb.analytics.topEvents({ from, to, limit: 1 })).toEqual([inTx.byEvent[0]]);
  });
});
