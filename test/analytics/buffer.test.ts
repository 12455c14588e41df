import { type Carebase, ClosedError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const events = sql.id('carebase', 'analytics_events');
let database: TestDatabase;
let cb: Carebase;

async function count(name: string): Promise<number> {
  const { rows } = await sql<{
    n: string;
  }>`select count(*) as n from ${events} where event_name = ${name}`.execute(cb.db);
  return Number(rows[0]?.n);
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { analytics: { autoRefreshIntervalMs: 0 } } });
  cb = database.db;
});

afterAll(async () => {
  await database?.drop();
});

describe('analytics.buffer', () => {
  it('flushes on time', async () => {
    const buffer = cb.analytics.buffer({ maxEvents: 1000, maxDelayMs: 50 });
    for (let i = 0; i < 3; i++) buffer.track({ eventType: 'page', eventName: 'timed.flush' });
    expect(await count('timed.flush')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await count('timed.flush')).toBe(3);
    expect(buffer.pending).toBe(0);
    await buffer.close();
  });

  it('flushes on size', async () => {
    const buffer = cb.analytics.buffer({ maxEvents: 10, maxDelayMs: 3_600_000 });
    for (let i = 0; i < 25; i++) buffer.track({ eventType: 'page', eventName: 'sized.flush' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await count('sized.flush')).toBe(20);
    await buffer.close();
    expect(await count('sized.flush')).toBe(25);
  });

  it('loses no accepted event when closed under load, and refuses bad or late events', async () => {
    const buffer = cb.analytics.buffer({ maxEvents: 200, maxDelayMs: 20 });
    let stop = false;
    let refusedAfterClose = 0;
    const producers = Array.from({ length: 8 }, async (_, p) => {
      for (let i = 0; !stop; i++) {
        try {
          buffer.track({
            userId: `00000000-0000-4000-8000-${String(p).padStart(12, '0')}`,
            eventType: 'feature',
            eventName: 'under.load',
            data: { i },
          });
        } catch (error) {
          if (error instanceof ClosedError) {
            refusedAfterClose++;
            return;
          }
          throw error;
        }
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    expect(() => buffer.track({ eventType: 'Bad', eventName: 'under.load' })).toThrow(ValidationError);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const closing = buffer.close();
    stop = true;
    await closing;
    await Promise.all(producers);
    expect(buffer.accepted).toBeGreaterThan(1000);
    expect(buffer.pending).toBe(0);
    expect(await count('under.load')).toBe(buffer.accepted);
    expect(() => buffer.track({ eventType: 'feature', eventName: 'under.load' })).toThrow(ClosedError);
    expect(refusedAfterClose).toBeGreaterThanOrEqual(0);
  });
});
