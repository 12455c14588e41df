import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Concurrent first writes into a month that has no partitions yet (a clock far ahead, an instance
// idle over a month boundary, a backfill): every caller waits on the partition lock, and the ones
// that waited must see the partitions the first one created. Before migration 0038, 19 of 20
// concurrent audit.log() calls failed with SQLSTATE 42P07: to_regclass() read a catalog cache
// that the advisory lock had not refreshed. Runs as the app role.

let database: TestDatabase;
const instances: Carebase[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(instances.map((cb) => cb.close()));
  await database?.drop();
});

/** An instance whose clock reads `at`, with room for 20 concurrent calls. */
function instanceAt(at: string): Carebase {
  const now = new Date(at);
  const cb = createCarebase({
    connectionString: database.url,
    clock: { now: () => now },
    pool: { max: 20 },
    analytics: { autoRefreshIntervalMs: 0 },
  });
  instances.push(cb);
  return cb;
}

async function failuresOf(calls: Promise<unknown>[]): Promise<string[]> {
  const results = await Promise.allSettled(calls);
  return results.flatMap((result) =>
    result.status === 'rejected' ? [String((result.reason as Error).message)] : [],
  );
}

describe('partitions created by concurrent first writes', () => {
  it('20 concurrent audit.log() calls in months without partitions all succeed', async () => {
    for (const at of ['2031-03-02T08:00:00Z', '2032-07-15T00:00:00Z', '2033-11-30T23:59:00Z']) {
      const cb = instanceAt(at);
      const failures = await failuresOf(
        Array.from({ length: 20 }, (_, i) =>
          cb.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: String(i) }),
        ),
      );
      expect({ at, failures }).toEqual({ at, failures: [] });
    }
    const cb = instances[0] as Carebase;
    expect((await cb.audit.verify()).ok).toBe(true);
  });

  it('20 concurrent analytics.track() calls in a month without partitions all succeed', async () => {
    const cb = instanceAt('2034-05-05T05:00:00Z');
    const failures = await failuresOf(
      Array.from({ length: 20 }, (_, i) =>
        cb.analytics.track({ eventType: 'feature', eventName: `race.${i}` }),
      ),
    );
    expect(failures).toEqual([]);
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from ${sql.id(cb.config.schema, 'analytics_events')}
      where occurred_at >= '2034-05-01' and occurred_at < '2034-06-01'`.execute(cb.db);
    expect(rows[0]?.n).toBe(20);
  });
});
