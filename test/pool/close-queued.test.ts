import { createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `close()` while calls wait for a pooled connection: pg-pool's `end()` neither serves nor fails
 * the callers it has queued, so without carebase draining the queue first they would wait forever
 * (with `connectionTimeoutMs: 0`) or fail after the timeout. Every call made before `close()` is
 * answered, and `close()` resolves after them.
 */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** Settles `promise`, or fails once `ms` passed. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('close() with calls queued for a connection', () => {
  it.each([0, 30_000])('answers every queued call (connectionTimeoutMs %i)', async (connectionTimeoutMs) => {
    const cb = createCarebase({ connectionString: database.url, pool: { max: 2, connectionTimeoutMs } });
    const calls = Array.from({ length: 20 }, (_, i) =>
      sql<{ i: number }>`select ${i}::int as i from pg_sleep(0.01)`.execute(cb.db),
    );
    // Every call has reached the pool: two hold (or open) its connections, eighteen wait in its queue.
    await within(
      (async () => {
        while (cb.pool.waitingCount < 18) await new Promise((resolve) => setTimeout(resolve, 1));
      })(),
      10_000,
      'the calls reaching the pool',
    );
    const closed = cb.close();
    const settled = await within(Promise.allSettled(calls), 10_000, 'the queued calls');
    await within(closed, 10_000, 'close()');
    expect(
      settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.rows[0]?.i : outcome.reason)),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // And afterwards every call is refused.
    await expect(sql`select 1`.execute(cb.db)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
