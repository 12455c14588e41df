import { type Carebase, createCarebase, isCarebaseError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const NOW = new Date('2026-11-20T15:37:12Z');
const USER = '2b0a0c1e-6a4f-4b52-9a51-3f2a3d9e0c11';
const events = sql.id('carebase', 'analytics_events');

let database: TestDatabase;
let cb: Carebase;

async function count(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${events}`.execute(cb.db);
  return Number(rows[0]?.n);
}

function bulk(n: number, base = NOW.getTime() - 3_600_000) {
  return Array.from({ length: n }, (_, i) => ({
    userId: i % 7 === 0 ? undefined : `00000000-0000-4000-8000-${String(i % 5000).padStart(12, '0')}`,
    sessionId: `s-${i % 300}`,
    eventType: 'feature',
    eventName: `chat.action_${i % 12}`,
    data: { i },
    occurredAt: new Date(base - (i % 86_400) * 1000),
  }));
}

beforeAll(async () => {
  database = await createTestDatabase({
    carebase: { clock: { now: () => NOW }, analytics: { autoRefreshIntervalMs: 0, maxDataBytes: 256 } },
  });
  cb = database.db;
});

beforeEach(async () => {
  await sql`delete from ${events}`.execute(cb.db); // as the app role: no TRUNCATE
});

afterAll(async () => {
  await database?.drop();
});

describe('analytics.track / trackMany', () => {
  it('tracks one event with the clock as default time', async () => {
    await cb.analytics.track({
      userId: USER,
      eventType: 'auth',
      eventName: 'user.login',
      data: { method: 'password' },
    });
    const row = await cb.db.selectFrom('analytics_events').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      user_id: USER,
      session_id: null,
      event_type: 'auth',
      event_name: 'user.login',
      data: { method: 'password' },
      occurred_at: NOW,
    });
  });

  it('writes 200,000 events in one call (COPY, no 65,535-parameter limit)', async () => {
    const result = await cb.analytics.trackMany(bulk(200_000));
    expect(result).toEqual({ inserted: 200_000, rejected: [] });
    expect(await count()).toBe(200_000);
  }, 120_000);

  it('writes 70,000 events inside a transaction (chunked unnest) and rolls them back with it', async () => {
    await expect(
      cb.transaction(async (tx) => {
        await tx.analytics.trackMany(bulk(70_000));
        const { rows } = await sql<{ n: string }>`select count(*) as n from ${events}`.execute(tx.db);
        expect(Number(rows[0]?.n)).toBe(70_000);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await count()).toBe(0);
  }, 120_000);

  it('refuses a whole batch naming the bad event index, writing nothing', async () => {
    const batch = bulk(1000);
    batch[737] = { ...batch[737], eventName: 'Bad Name' } as (typeof batch)[number];
    const error = await cb.analytics.trackMany(batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('events.737.eventName');
    expect((error as ValidationError).message).not.toContain('Bad Name');
    expect(await count()).toBe(0);
  });

  it('aborts a large batch at a late bad event (validated while copying): nothing written, pool fine', async () => {
    const batch = bulk(30_000);
    batch[29_001] = { ...batch[29_001], eventName: 'Bad Name' } as (typeof batch)[number];
    // Also too far in the future for any partition to be made for it.
    batch[29_002] = {
      ...batch[29_002],
      occurredAt: new Date('2031-05-05T00:00:00Z'),
    } as (typeof batch)[number];
    const error = await cb.analytics.trackMany(batch).catch((e: unknown) => e);
    expect((error as ValidationError).field).toBe('events.29001.eventName');
    expect(await count()).toBe(0);
    const { rows } = await sql<{ n: string }>`select count(*) as n from pg_tables
      where schemaname = 'carebase' and tablename like 'analytics_events_p2031%'`.execute(cb.db);
    expect(Number(rows[0]?.n)).toBe(0);
    batch[29_001] = bulk(1)[0] as (typeof batch)[number];
    const skipped = await cb.analytics.trackMany(batch, { onInvalid: 'skip' });
    expect(skipped.inserted).toBe(29_999);
    expect(skipped.rejected.map((r) => [r.index, r.issues[0]?.path.join('.')])).toEqual([
      [29_002, 'occurredAt'],
    ]);
    expect(await count()).toBe(29_999);
  }, 120_000);

  it('skips and reports bad events with onInvalid: skip', async () => {
    const batch: Parameters<Carebase['analytics']['trackMany']>[0][number][] = bulk(10);
    batch[2] = { eventType: 'x', eventName: 'ok.name', occurredAt: new Date(NOW.getTime() + 2 * 86_400_000) };
    batch[5] = { eventType: 'x', eventName: 'ok.name', data: { big: 'y'.repeat(300) } };
    const result = await cb.analytics.trackMany(batch, { onInvalid: 'skip' });
    expect(result.inserted).toBe(8);
    expect(result.rejected.map((r) => [r.index, r.issues[0]?.path.join('.')])).toEqual([
      [2, 'occurredAt'],
      [5, 'data'],
    ]);
    expect(await count()).toBe(8);
  });

  it('validates type/name patterns and lengths, data size, future timestamps, NUL bytes', async () => {
    const bad = [
      { eventType: 'Feature', eventName: 'a' },
      { eventType: 'a'.repeat(65), eventName: 'a' },
      { eventType: 'a', eventName: `a${'b'.repeat(128)}` },
      { eventType: 'a', eventName: 'a', data: { text: 'z'.repeat(300) } },
      { eventType: 'a', eventName: 'a', occurredAt: new Date(NOW.getTime() + 86_400_001) },
      { eventType: 'a', eventName: 'a', data: { text: 'nul\u0000byte' } },
      { eventType: 'a', eventName: 'a', data: { text: 'lone \ud800 surrogate' } },
      { eventType: 'a', eventName: 'a', sessionId: 'tab\there' },
      { eventType: 'a', eventName: 'a', userId: 'not-a-uuid' },
      { eventType: 'a', eventName: 'a', extra: 1 },
    ];
    for (const event of bad) {
      const error = await cb.analytics.track(event as never).catch((e: unknown) => e);
      expect(isCarebaseError(error, 'VALIDATION_FAILED'), JSON.stringify(Object.keys(event))).toBe(true);
    }
    await cb.analytics.track({
      eventType: 'a',
      eventName: 'a',
      occurredAt: new Date(NOW.getTime() + 86_000_000),
    });
    expect(await count()).toBe(1);
  });

  it('stores awkward text verbatim through both COPY and unnest', async () => {
    const awkward = {
      sessionId: 'back\\slash \'quote\' "dq" ; drop table users; -- ✓ 😀',
      eventType: 'feature',
      eventName: 'x.y:z-w',
      data: { s: 'line\nbreak\ttab\\n back\\\\slash \u2028 😀', n: 1.5, nested: { a: [null, true, '\\N'] } },
    };
    await cb.analytics.trackMany(Array.from({ length: 600 }, () => awkward)); // COPY
    await cb.analytics.trackMany([awkward]); // unnest
    await cb.analytics.track(awkward); // prepared insert
    const rows = await cb.db
      .selectFrom('analytics_events')
      .select(['session_id', 'event_name', 'data'])
      .execute();
    expect(rows).toHaveLength(602);
    for (const row of rows) {
      expect(row).toEqual({
        session_id: awkward.sessionId,
        event_name: awkward.eventName,
        data: awkward.data,
      });
    }
  });

  it('creates missing monthly partitions on demand, also after a rolled-back transaction', async () => {
    const old = new Date('2019-03-04T05:06:07Z');
    await expect(
      cb.transaction(async (tx) => {
        await tx.analytics.track({ eventType: 'a', eventName: 'a', occurredAt: old });
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await cb.analytics.track({ eventType: 'a', eventName: 'a', occurredAt: old });
    await cb.analytics.trackMany(
      Array.from({ length: 600 }, (_, i) => ({
        eventType: 'a',
        eventName: 'a',
        occurredAt: new Date(Date.UTC(2018, i % 12, 3)),
      })),
    );
    expect(await count()).toBe(601);
    const { rows } = await sql<{ n: string }>`select count(*) as n from pg_tables
      where schemaname = 'carebase' and tablename like 'analytics_events_p2018%'`.execute(cb.db);
    expect(Number(rows[0]?.n)).toBe(12);
  });
});

describe('analytics.allowedEvents', () => {
  it('refuses unknown event names and data keys (no stripping)', async () => {
    await using strict = createCarebase({
      connectionString: database.url,
      clock: { now: () => NOW },
      analytics: { autoRefreshIntervalMs: 0, allowedEvents: { 'chat.message_sent': ['model', 'tokens'] } },
    });
    await strict.analytics.track({
      eventType: 'feature',
      eventName: 'chat.message_sent',
      data: { model: 'm', tokens: 3 },
    });
    const unknownName = await strict.analytics
      .track({ eventType: 'feature', eventName: 'chat.other' })
      .catch((e: unknown) => e);
    expect((unknownName as ValidationError).field).toBe('eventName');
    const unknownKey = await strict.analytics
      .trackMany([
        { eventType: 'feature', eventName: 'chat.message_sent', data: { model: 'm' } },
        { eventType: 'feature', eventName: 'chat.message_sent', data: { model: 'm', patientName: 'x' } },
      ])
      .catch((e: unknown) => e);
    expect((unknownKey as ValidationError).field).toBe('events.1.data.patientName');
    expect(await count()).toBe(1);
  });
});
