import { type Carebase, ValidationError } from 'carebase';
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
const SEED = Number(process.env.ANALYTICS_TEST_SEED ?? 20261121);
const random = mulberry32(SEED);
const users = Array.from({ length: 40 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const ALPHA = 0.01;

/** A chat answer with tokens (integer), cost (decimal, as a string or a number) and latency. */
function answer(at: Date) {
  const tokens = Math.floor(50 + random() * 2000);
  // Lognormal latency around 900 ms; some exact zeros and repeated values.
  const u = random();
  const latencyMs = u < 0.02 ? 0 : u < 0.1 ? 930 : Math.round(Math.exp(6.8 + 0.8 * gaussian()));
  const costUsd = random() < 0.5 ? (tokens * 0.0000051).toFixed(7) : Number((tokens * 0.0000049).toFixed(6));
  const measures: Record<string, number | string> = { tokens, costUsd, latencyMs };
  if (random() < 0.1) delete measures.latencyMs; // a measure may be missing on some events
  return {
    userId: users[Math.floor(random() * users.length)],
    eventType: 'chat',
    eventName: 'chat.answer',
    measures,
    occurredAt: at,
  };
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const events = sql.id('carebase', 'analytics_events');
let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({
    carebase: {
      clock: { now: () => NOW },
      analytics: {
        autoRefreshIntervalMs: 0,
        rollupSettleMs: 0,
        measures: {
          'chat.answer': { tokens: 'integer', costUsd: 'decimal', latencyMs: 'integer' },
          'analysis.run': { costUsd: 'decimal' },
        },
      },
    },
  });
  cb = database.db;
  // 40 days of answers (bulk COPY path), a few analyses, and plain events without measures.
  const batch = Array.from({ length: 24_000 }, () =>
    answer(new Date(NOW.getTime() - 60_000 - Math.floor(random() * 40 * DAY))),
  );
  const analyses = Array.from({ length: 300 }, () => ({
    eventType: 'analysis',
    eventName: 'analysis.run',
    measures: { costUsd: (random() * 3).toFixed(4) },
    occurredAt: new Date(NOW.getTime() - Math.floor(random() * 40 * DAY)),
  }));
  const plain = Array.from({ length: 200 }, () => ({
    eventType: 'page',
    eventName: 'page.view',
    data: { path: '/' },
    occurredAt: new Date(NOW.getTime() - Math.floor(random() * 40 * DAY)),
  }));
  expect((await cb.analytics.trackMany([...batch, ...analyses, ...plain])).inserted).toBe(24_500);
  await cb.analytics.refreshRollups();
  // Late events into rolled-up hours (dirty hours), through track and the small-batch path.
  for (let i = 0; i < 20; i++) await cb.analytics.track(answer(new Date(NOW.getTime() - (3 + i) * DAY)));
  await cb.analytics.trackMany(
    Array.from({ length: 50 }, () => answer(new Date(NOW.getTime() - Math.floor(random() * 30 * DAY)))),
  );
});

afterAll(async () => {
  await database?.drop();
});

const range = { from: new Date(NOW.getTime() - 30 * DAY - 1234), to: new Date(NOW.getTime() - 5_000) };

async function rawStats(filter = sql`true`) {
  const { rows } = await sql<{
    event_name: string;
    measure: string;
    n: string;
    total: string;
    min: string;
    max: string;
  }>`
    select event_name, m.key as measure, count(*) as n, sum((m.value #>> '{}')::numeric)::text as total,
           min((m.value #>> '{}')::numeric)::text as min, max((m.value #>> '{}')::numeric)::text as max
    from ${events} cross join lateral jsonb_each(measures) m
    where occurred_at >= ${range.from} and occurred_at < ${range.to} and ${filter}
    group by 1, 2`.execute(cb.db);
  return rows;
}

describe('numeric measures', () => {
  it('summary sums, counts, mins and maxes equal raw SQL exactly (rollups + raw edges + dirty hours)', async () => {
    const dirty = await sql<{
      n: string;
    }>`select count(*) as n from ${sql.id('carebase', 'analytics_rollup_dirty')}`.execute(cb.db);
    expect(Number(dirty.rows[0]?.n)).toBeGreaterThan(0); // the late events are read raw
    const summary = await cb.analytics.summary(range);
    const expected = await rawStats();
    expect(expected.length).toBe(4);
    for (const row of expected) {
      const stats = summary.byEvent.find((e) => e.eventName === row.event_name)?.measures?.[row.measure];
      expect(stats, `${row.event_name}.${row.measure}`).toEqual({
        count: Number(row.n),
        sum: Number(row.total),
        sumDecimal: row.total,
        min: Number(row.min),
        max: Number(row.max),
      });
    }
    expect(summary.byEvent.find((e) => e.eventName === 'page.view')?.measures).toBeUndefined();
    // After a refresh (dirty hours rolled up again) the answer is the same.
    await cb.analytics.refreshRollups();
    expect(await cb.analytics.summary(range)).toEqual(summary);
  });

  it('timeseries per day carries exact sums per bucket', async () => {
    const days = await cb.analytics.timeseries({ ...range, bucket: 'day', eventName: 'chat.answer' });
    const { rows } = await sql<{ day: Date; total: string; n: string }>`
      select date_trunc('day', occurred_at, 'UTC') as day, sum((measures->>'tokens')::numeric)::text as total, count(*) as n
      from ${events} where event_name = 'chat.answer' and occurred_at >= ${range.from} and occurred_at < ${range.to}
      group by 1`.execute(cb.db);
    expect(rows.length).toBeGreaterThan(25);
    for (const row of rows) {
      const day = days.find((d) => d.bucketStart.getTime() === row.day.getTime());
      expect(day?.measures?.tokens?.sumDecimal, row.day.toISOString()).toBe(row.total);
      expect(day?.measures?.tokens?.count).toBe(Number(row.n));
    }
  });

  it('p50/p90/p95/p99 per day are within 1% (relative) of percentile_cont', async () => {
    // Late, extreme answers into a rolled-up day: its hours are dirty (read raw, the day's summed
    // sketch is not used); leaving them out or counting them twice would move its p95 and p99.
    const lateDay = NOW.getTime() - 12 * DAY - (NOW.getTime() % DAY);
    await cb.analytics.trackMany(
      Array.from({ length: 60 }, (_, i) => ({
        ...answer(new Date(lateDay + 3_600_000 * (1 + (i % 20)))),
        measures: { tokens: 10, costUsd: '0.01', latencyMs: 10_000_000 + i },
      })),
    );
    const dirty = await sql<{
      n: string;
    }>`select count(*) as n from ${sql.id('carebase', 'analytics_rollup_dirty')}`.execute(cb.db);
    expect(Number(dirty.rows[0]?.n)).toBeGreaterThan(0);
    const days = await cb.analytics.timeseries({
      ...range,
      bucket: 'day',
      eventName: 'chat.answer',
      percentiles: true,
    });
    const quantiles = [
      ['p50', 0.5],
      ['p90', 0.9],
      ['p95', 0.95],
      ['p99', 0.99],
    ] as const;
    let checked = 0;
    let worst = 0;
    for (const [name, q] of quantiles) {
      const { rows } = await sql<{ day: Date; cont: number; lo: number; hi: number }>`
        select date_trunc('day', occurred_at, 'UTC') as day,
               percentile_cont(${q}::float8) within group (order by (measures->>'latencyMs')::float8) as cont,
               percentile_disc(${q}::float8) within group (order by (measures->>'latencyMs')::float8) as hi,
               (array_agg((measures->>'latencyMs')::float8 order by (measures->>'latencyMs')::float8))[floor(${q}::float8 * (count(*) - 1))::int + 1] as lo
        from ${events}
        where event_name = 'chat.answer' and measures ? 'latencyMs'
          and occurred_at >= ${range.from} and occurred_at < ${range.to}
        group by 1`.execute(cb.db);
      for (const row of rows) {
        const got = days.find((d) => d.bucketStart.getTime() === row.day.getTime())?.measures?.latencyMs?.[
          name
        ];
        expect(got, `${name} ${row.day.toISOString()}`).toBeTypeOf('number');
        const value = got as number;
        // The sketch's guarantee: within alpha of the order statistic that percentile_cont starts from.
        const low = Math.min(row.lo, row.hi);
        const high = Math.max(row.lo, row.hi, row.cont);
        expect(value, `${name} ${row.day.toISOString()}`).toBeGreaterThanOrEqual(low * (1 - ALPHA) - 1e-9);
        expect(value, `${name} ${row.day.toISOString()}`).toBeLessThanOrEqual(high * (1 + ALPHA) + 1e-9);
        if (row.cont > 0) worst = Math.max(worst, Math.abs(value - row.cont) / row.cont);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    // Against percentile_cont itself: interpolating like it does keeps the sketch's 1% bound.
    expect(worst).toBeLessThanOrEqual(ALPHA + 1e-12);
  });

  it('summary percentiles over the range agree with percentile_cont', async () => {
    const summary = await cb.analytics.summary({ ...range, eventName: 'chat.answer', percentiles: true });
    const stats = summary.byEvent[0]?.measures?.latencyMs;
    const { rows } = await sql<{ p95: number }>`
      select percentile_cont(0.95) within group (order by (measures->>'latencyMs')::float8) as p95
      from ${events} where event_name = 'chat.answer' and measures ? 'latencyMs'
        and occurred_at >= ${range.from} and occurred_at < ${range.to}`.execute(cb.db);
    const exact = rows[0]?.p95 ?? 0;
    expect(Math.abs((stats?.p95 ?? 0) - exact) / exact).toBeLessThanOrEqual(ALPHA);
    // Percentiles of the named measures only; the others keep their exact statistics.
    const some = await cb.analytics.summary({
      ...range,
      eventName: 'chat.answer',
      percentiles: ['latencyMs'],
    });
    expect(some.byEvent[0]?.measures?.latencyMs?.p95).toBe(stats?.p95);
    expect(some.byEvent[0]?.measures?.tokens?.p95).toBeUndefined();
    expect(some.byEvent[0]?.measures?.tokens?.sumDecimal).toBe(
      summary.byEvent[0]?.measures?.tokens?.sumDecimal,
    );
  });

  it('refuses undeclared measures and bad values before any SQL, writing nothing', async () => {
    const before = await sql<{ n: string }>`select count(*) as n from ${events}`.execute(cb.db);
    const cases: [unknown, string][] = [
      [{ eventType: 'chat', eventName: 'chat.answer', measures: { words: 3 } }, 'measures.words'],
      [{ eventType: 'page', eventName: 'page.view', measures: { tokens: 3 } }, 'measures.tokens'],
      [{ eventType: 'chat', eventName: 'chat.answer', measures: { tokens: 1.5 } }, 'measures.tokens'],
      [{ eventType: 'chat', eventName: 'chat.answer', measures: { tokens: '12' } }, 'measures.tokens'],
      [{ eventType: 'chat', eventName: 'chat.answer', measures: { costUsd: '1e5' } }, 'measures.costUsd'],
      [{ eventType: 'chat', eventName: 'chat.answer', measures: { costUsd: 1e16 } }, 'measures.costUsd'],
      [
        { eventType: 'chat', eventName: 'chat.answer', measures: { costUsd: Number.NaN } },
        'measures.costUsd',
      ],
    ];
    for (const [event, field] of cases) {
      const error = await cb.analytics.track(event as never).catch((e: unknown) => e);
      expect(error, field).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field, JSON.stringify(event)).toBe(field);
      const batch = await cb.analytics
        .trackMany(Array.from({ length: 600 }, (_, i) => (i === 512 ? event : answer(NOW))) as never)
        .catch((e: unknown) => e);
      expect((batch as ValidationError).field).toBe(`events.512.${field}`);
    }
    const after = await sql<{ n: string }>`select count(*) as n from ${events}`.execute(cb.db);
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('stores decimal strings exactly (no float rounding)', async () => {
    await cb.analytics.track({
      eventType: 'analysis',
      eventName: 'analysis.run',
      measures: { costUsd: '0.000000000001' },
      occurredAt: new Date(NOW.getTime() - 1000),
    });
    const { rows } = await sql<{ v: string }>`
      select measures->>'costUsd' as v from ${events} where occurred_at = ${new Date(NOW.getTime() - 1000)}`.execute(
      cb.db,
    );
    expect(rows[0]?.v).toBe('0.000000000001');
  });

  it('refuses data keys of the audit redaction list at any depth (secrets never reach analytics)', async () => {
    for (const [data, field] of [
      [{ token: 'abc' }, 'data.token'],
      [{ auth: { Password: 'x' } }, 'data.auth.Password'],
      [{ list: [{ secret: 1 }] }, 'data.list.0.secret'],
    ] as const) {
      const error = await cb.analytics
        .track({ eventType: 'page', eventName: 'page.view', data })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
      expect((error as ValidationError).message).not.toContain('abc');
    }
    // Keys that merely contain a listed word are fine.
    await cb.analytics.track({ eventType: 'page', eventName: 'page.view', data: { tokens: 812 } });
  });
});
