import type { Carebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Deterministic PRNG so a failure can be reproduced. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = new Date('2026-11-20T15:37:12Z');
const DAY = 86_400_000;
const SEED = Number(process.env.ANALYTICS_TEST_SEED ?? 20261120);
const random = mulberry32(SEED);
const users = Array.from({ length: 120 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const names = [
  ['feature', 'chat.message_sent'],
  ['feature', 'chat.export'],
  ['page', 'page.view'],
  ['auth', 'user.login'],
  ['auth', 'user.logout'],
] as const;

function randomEvents(count: number, spanMs: number) {
  return Array.from({ length: count }, () => {
    const [eventType, eventName] = names[Math.floor(random() * random() * names.length)] ?? names[0];
    const anonymous = random() < 0.1;
    return {
      userId: anonymous ? undefined : users[Math.floor(random() * random() * users.length)],
      eventType,
      eventName,
      data: { n: Math.floor(random() * 100) },
      occurredAt: new Date(NOW.getTime() - 60_000 - Math.floor(random() * spanMs)),
    };
  });
}

const events = sql.id('carebase', 'analytics_events');
let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({
    carebase: { clock: { now: () => NOW }, analytics: { autoRefreshIntervalMs: 0, rollupSettleMs: 0 } },
  });
  cb = database.db;
  // 14 months of random events, through the bulk path.
  const { inserted } = await cb.analytics.trackMany(randomEvents(24_000, 426 * DAY));
  expect(inserted).toBe(24_000);
});

afterAll(async () => {
  await database?.drop();
});

interface Range {
  readonly from: Date;
  readonly to: Date;
}

const ranges: Range[] = [
  // Cuts through days, hours and the month boundaries of several partitions.
  { from: new Date('2025-10-31T22:13:07.123Z'), to: new Date('2026-03-01T04:59:59.999Z') },
  // About 30 days, crossing the US DST change of 2026-11-01.
  { from: new Date('2026-10-18T03:30:00Z'), to: new Date('2026-11-17T17:45:10Z') },
  // Inside one hour.
  { from: new Date('2026-06-10T10:05:00Z'), to: new Date('2026-06-10T10:55:00Z') },
  // The whole history, up to now (includes the current, open hour).
  { from: new Date('2025-09-01T00:00:00Z'), to: NOW },
  // Crossing the spring DST change (2026-03-08) and a partition boundary.
  { from: new Date('2026-02-20T05:00:00Z'), to: new Date('2026-03-20T04:00:00Z') },
];

async function expectedSummary(
  range: Range,
  filter: { eventType?: string; eventName?: string; userId?: string } = {},
) {
  const where = sql`occurred_at >= ${range.from} and occurred_at < ${range.to}
    and (${filter.eventType ?? null}::text is null or event_type = ${filter.eventType ?? null})
    and (${filter.eventName ?? null}::text is null or event_name = ${filter.eventName ?? null})
    and (${filter.userId ?? null}::uuid is null or user_id = ${filter.userId ?? null})`;
  const total = await sql<{ events: string; users: string }>`
    select count(*) as events, count(distinct user_id) as users from ${events} where ${where}`.execute(cb.db);
  const byEvent = await sql<{ event_type: string; event_name: string; events: string; users: string }>`
    select event_type, event_name, count(*) as events, count(distinct user_id) as users
    from ${events} where ${where} group by 1, 2`.execute(cb.db);
  return {
    totalEvents: Number(total.rows[0]?.events),
    uniqueUsers: Number(total.rows[0]?.users),
    byEvent: byEvent.rows
      .map((row) => ({
        eventType: row.event_type,
        eventName: row.event_name,
        count: Number(row.events),
        uniqueUsers: Number(row.users),
      }))
      .sort(
        (a, b) =>
          b.count - a.count ||
          a.eventType.localeCompare(b.eventType) ||
          a.eventName.localeCompare(b.eventName),
      ),
  };
}

async function expectedBuckets(range: Range, unit: string, timezone: string, eventName?: string) {
  const { rows } = await sql<{ bucket: Date; events: string; users: string }>`
    select date_trunc(${unit}, occurred_at, ${timezone}) as bucket, count(*) as events, count(distinct user_id) as users
    from ${events}
    where occurred_at >= ${range.from} and occurred_at < ${range.to}
      and (${eventName ?? null}::text is null or event_name = ${eventName ?? null})
    group by 1`.execute(cb.db);
  return new Map(
    rows.map((row) => [
      row.bucket.toISOString(),
      { count: Number(row.events), uniqueUsers: Number(row.users) },
    ]),
  );
}

function checkBuckets(
  actual: readonly { bucketStart: Date; count: number; uniqueUsers: number }[],
  expected: Map<string, { count: number; uniqueUsers: number }>,
  range: Range,
) {
  expect(actual.length).toBeGreaterThan(0);
  expect(actual[0]?.bucketStart.getTime()).toBeLessThanOrEqual(range.from.getTime());
  expect(actual[actual.length - 1]?.bucketStart.getTime()).toBeLessThan(range.to.getTime());
  for (let i = 1; i < actual.length; i++) {
    expect(actual[i]?.bucketStart.getTime()).toBeGreaterThan(actual[i - 1]?.bucketStart.getTime() ?? 0);
  }
  const got = new Map(
    actual.map((b) => [b.bucketStart.toISOString(), { count: b.count, uniqueUsers: b.uniqueUsers }]),
  );
  for (const [bucket, value] of expected) expect(got.get(bucket), bucket).toEqual(value);
  for (const [bucket, value] of got) {
    if (!expected.has(bucket)) expect(value, bucket).toEqual({ count: 0, uniqueUsers: 0 });
  }
}

async function checkEverything(label: string) {
  for (const range of ranges) {
    const where = `${label} ${range.from.toISOString()}..${range.to.toISOString()}`;
    expect(await cb.analytics.summary(range), where).toEqual(await expectedSummary(range));
    expect(await cb.analytics.summary({ ...range, eventType: 'auth' }), where).toEqual(
      await expectedSummary(range, { eventType: 'auth' }),
    );
    expect(await cb.analytics.summary({ ...range, eventName: 'page.view' }), where).toEqual(
      await expectedSummary(range, { eventName: 'page.view' }),
    );
    expect(await cb.analytics.summary({ ...range, userId: users[0] }), where).toEqual(
      await expectedSummary(range, { userId: users[0] as string }),
    );
    const top = await cb.analytics.topEvents({ ...range, limit: 3 });
    expect(top, where).toEqual((await expectedSummary(range)).byEvent.slice(0, 3));
    for (const timezone of ['America/New_York', 'UTC']) {
      for (const bucket of ['hour', 'day', 'week'] as const) {
        if (bucket === 'hour' && range.to.getTime() - range.from.getTime() > 40 * DAY) continue;
        checkBuckets(
          await cb.analytics.timeseries({ ...range, bucket, timezone }),
          await expectedBuckets(range, bucket, timezone),
          range,
        );
      }
    }
    checkBuckets(
      await cb.analytics.timeseries({
        ...range,
        bucket: 'day',
        timezone: 'America/New_York',
        eventName: 'chat.export',
      }),
      await expectedBuckets(range, 'day', 'America/New_York', 'chat.export'),
      range,
    );
    // A zone with a half-hour offset is computed from raw events, and still exact.
    checkBuckets(
      await cb.analytics.timeseries({ ...range, bucket: 'day', timezone: 'Asia/Kolkata' }),
      await expectedBuckets(range, 'day', 'Asia/Kolkata'),
      range,
    );
    for (const bucket of ['day', 'week', 'month'] as const) {
      const active = await cb.analytics.activeUsers({ ...range, bucket, timezone: 'America/New_York' });
      const expected = await expectedBuckets(range, bucket, 'America/New_York');
      checkBuckets(
        active.map((a) => ({ bucketStart: a.bucketStart, count: 0, uniqueUsers: a.activeUsers })),
        new Map([...expected].map(([k, v]) => [k, { count: 0, uniqueUsers: v.uniqueUsers }])),
        range,
      );
    }
  }
}

describe(`analytics queries equal plain SQL over raw events (seed ${SEED})`, () => {
  it('before any rollup (everything from raw events)', async () => {
    await checkEverything('raw');
  }, 300_000);

  it('after refreshRollups (rollups for whole hours, raw events for the edges)', async () => {
    const result = await cb.analytics.refreshRollups();
    expect(result.rolledUpTo.toISOString()).toBe('2026-11-20T15:00:00.000Z');
    expect(result.hoursRefreshed).toBeGreaterThan(9000);
    const { rows } = await sql<{
      n: string;
    }>`select count(*) as n from ${sql.id('carebase', 'analytics_rollup_hourly')}`.execute(cb.db);
    expect(Number(rows[0]?.n)).toBeGreaterThan(1000);
    await checkEverything('rolled up');
  }, 300_000);

  it('after late events and an erasure changed rolled-up hours (dirty hours read raw), and after the next refresh', async () => {
    await cb.analytics.trackMany(randomEvents(600, 426 * DAY));
    await cb.analytics.track({
      userId: users[5],
      eventType: 'page',
      eventName: 'page.view',
      occurredAt: new Date('2026-01-15T12:30:00Z'),
    });
    await cb.db
      .deleteFrom('analytics_events')
      .where('user_id', '=', users[1] as string)
      .execute();
    const dirty = await sql<{
      n: string;
    }>`select count(*) as n from ${sql.id('carebase', 'analytics_rollup_dirty')}`.execute(cb.db);
    expect(Number(dirty.rows[0]?.n)).toBeGreaterThan(100);
    await checkEverything('dirty');
    const { rolledUpTo } = await cb.analytics.refreshRollups();
    const after = await sql<{
      n: string;
    }>`select count(*) as n from ${sql.id('carebase', 'analytics_rollup_dirty')}
      where hour < ${rolledUpTo}`.execute(cb.db);
    expect(Number(after.rows[0]?.n)).toBe(0);
    await checkEverything('refreshed again');
  }, 300_000);
});
