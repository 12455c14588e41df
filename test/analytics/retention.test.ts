import type { Carebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Internal: hosts reach these through cb.users.exportData / cb.users.erase.
import {
  eraseAnalyticsForUser,
  exportAnalyticsForUser,
} from '../../src/repositories/analytics/data-subject.js';

const NOW = new Date('2026-11-20T15:37:12Z');
const USER = '2b0a0c1e-6a4f-4b52-9a51-3f2a3d9e0c11';
const events = sql.id('carebase', 'analytics_events');
let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({
    carebase: { clock: { now: () => NOW }, analytics: { autoRefreshIntervalMs: 0, rollupSettleMs: 0 } },
  });
  cb = database.db;
});

afterAll(async () => {
  await database?.drop();
});

async function rawCount(from: Date, to: Date): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${events}
    where occurred_at >= ${from} and occurred_at < ${to}`.execute(cb.db);
  return Number(rows[0]?.n);
}

describe('analytics.applyRetention', () => {
  it('drops only whole raw partitions before the cutoff, keeps rollups, and is audited', async () => {
    // One event every 6 hours from 2025-06-01 to now, alternating two users.
    const all = [];
    for (let t = Date.UTC(2025, 5, 1); t < NOW.getTime() - 3_600_000; t += 6 * 3_600_000) {
      all.push({
        userId: all.length % 2 === 0 ? USER : undefined,
        eventType: 'feature',
        eventName: 'chat.message_sent',
        occurredAt: new Date(t),
      });
    }
    await cb.analytics.trackMany(all);
    const cutoff = new Date('2026-08-01T00:00:00Z');
    const keptBefore = await rawCount(cutoff, NOW);
    const oldRange = { from: new Date('2025-07-15T03:00:00Z'), to: new Date('2026-07-31T23:00:00Z') };
    const oldSummary = await cb.analytics.summary(oldRange);
    expect(oldSummary.totalEvents).toBe(await rawCount(oldRange.from, oldRange.to));

    const result = await cb.analytics.applyRetention({ keepMonths: 3 });
    expect(result.cutoff).toEqual(cutoff);
    expect(result.droppedPartitions).toEqual(
      Array.from({ length: 14 }, (_, i) => {
        const d = new Date(Date.UTC(2025, 5 + i, 1));
        return `analytics_events_p${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
      }),
    );
    expect(await rawCount(new Date(0), cutoff)).toBe(0);
    expect(await rawCount(cutoff, NOW)).toBe(keptBefore);
    // Summaries of the dropped range still come from the rollups.
    expect(await cb.analytics.summary(oldRange)).toEqual(oldSummary);

    const audit = await cb.db
      .selectFrom('audit_log')
      .select(['action', 'resource_type', 'metadata'])
      .where('action', '=', 'analytics.retention')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.metadata).toMatchObject({ keepMonths: 3, cutoff: cutoff.toISOString() });

    // An insert into a dropped month never fails: the partition is created again.
    await cb.analytics.track({
      eventType: 'feature',
      eventName: 'late.event',
      occurredAt: new Date('2025-09-09T09:00:00Z'),
    });
    expect(await rawCount(new Date(0), cutoff)).toBe(1);
  }, 120_000);
});

describe('exportAnalyticsForUser / eraseAnalyticsForUser', () => {
  it('exports a user’s events and erases them (and the user’s bitmap key), exact summaries after', async () => {
    const other = '9c1d2e3f-0000-4000-8000-000000000001';
    await cb.analytics.trackMany([
      {
        userId: USER,
        eventType: 'page',
        eventName: 'page.view',
        data: { path: '/a' },
        occurredAt: new Date('2026-10-01T10:00:00Z'),
      },
      {
        userId: USER,
        eventType: 'page',
        eventName: 'page.view',
        data: { path: '/b' },
        occurredAt: new Date('2026-10-02T10:00:00Z'),
      },
      {
        userId: other,
        eventType: 'page',
        eventName: 'page.view',
        occurredAt: new Date('2026-10-02T11:00:00Z'),
      },
    ]);
    await cb.analytics.refreshRollups();
    const exported = await exportAnalyticsForUser(cb.context, USER);
    const views = exported.events.filter((e) => e.eventName === 'page.view');
    expect(views.map((e) => e.data)).toEqual([{ path: '/a' }, { path: '/b' }]);
    expect(JSON.parse(JSON.stringify(exported))).toEqual(exported);

    const erased = await eraseAnalyticsForUser(cb.context, USER);
    expect(erased.events).toBe(exported.events.length);
    expect((await exportAnalyticsForUser(cb.context, USER)).events).toEqual([]);
    const keys = await cb.db
      .selectFrom('analytics_user_keys')
      .select('user_id')
      .where('user_id', '=', USER)
      .execute();
    expect(keys).toEqual([]);
    const range = { from: new Date('2026-09-30T00:00:00Z'), to: new Date('2026-10-03T00:00:00Z') };
    const before = await cb.analytics.summary(range);
    expect(before).toMatchObject({ totalEvents: await rawCount(range.from, range.to), uniqueUsers: 1 });
    await cb.analytics.refreshRollups();
    expect(await cb.analytics.summary(range)).toEqual(before);
  });
});
