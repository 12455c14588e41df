import { type Carebase, createCarebase } from 'carebase';
import { AnalyticsEventInputSchema } from 'carebase/schemas';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsOptionsSchema } from '../../src/config/analytics-options.js';
// Internal: the bulk validation fast path and its zod reference.
import { fastParseEvent } from '../../src/repositories/analytics/event-fast-path.js';
import {
  type PreparedEvent,
  prepareEvent,
  prepareEventWithZod,
} from '../../src/repositories/analytics/event-input.js';

const NOW = new Date('2026-11-20T15:37:12.345Z');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SEED = Number(process.env.ANALYTICS_PROPERTY_SEED ?? 0x5eed);

/** A small seeded PRNG (mulberry32), so a failure reproduces with the printed seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Custom {
  eventType = 'feature';
  eventName = 'chat.sent';
}
class Payload {
  a = 1;
}
class LaterDate extends Date {}

/** Events from `seed`; `clean` is the share of fields (and containers) drawn well-formed. */
function generator(seed: number, clean: number) {
  const next = random(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(values: readonly T[]): T => values[int(values.length)] as T;
  const chars = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[int(alphabet.length)]).join('');
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const word = `${lower}0123456789_`;
  const name = `${word}.:-`;
  const hex = '0123456789abcdefABCDEF';
  const oddChars = [
    'A',
    'Z',
    ' ',
    '\n',
    '\t',
    '\u0000',
    'é',
    'ß',
    '😀',
    '\ud800',
    '/',
    '\\',
    '$',
    '.',
    '-',
    '_',
    '0',
  ];
  const around = (limit: number) => pick([1, 2, limit - 1, limit, limit + 1, int(limit) + 1]);
  /** A string of the pattern's alphabet, then maybe one character broken. */
  const patterned = (alphabet: string, limit: number): unknown => {
    if (next() < clean) return chars(lower, 1) + chars(alphabet, int(limit));
    const length = around(limit);
    let value = chars(lower, 1) + chars(alphabet, length - 1);
    if (next() < 0.25) {
      const at = int(value.length + 1);
      value = value.slice(0, at) + pick(oddChars) + value.slice(at + 1);
    }
    return pick([value, value, value, value, value, '', 7, null, ['a'], value.toUpperCase(), `${value}\n`]);
  };
  const uuid = (): unknown => {
    if (next() < clean)
      return `${chars(hex, 8)}-${chars(hex, 4)}-4${chars(hex, 3)}-a${chars(hex, 3)}-${chars(hex, 12)}`;
    const base = `${chars(hex, 8)}-${chars(hex, 4)}-${pick([...'0123456789aF'])}${chars(hex, 3)}-${pick([...'789abcABCf'])}${chars(hex, 3)}-${chars(hex, 12)}`;
    return pick([
      base,
      base,
      `${base.slice(0, 14)}4${base.slice(15, 19)}8${base.slice(20)}`,
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
      `{${base}}`,
      base.slice(1),
      `${base} `,
      base.replace(/-/g, ''),
      42,
    ]);
  };
  const sessionId = (): unknown => {
    if (next() < clean) return chars(`${word}-/ \\`, 1 + int(40));
    const length = around(128);
    const value = pick([
      () => chars(`${word}-/ `, length),
      () => '😀'.repeat(Math.ceil(length / 2)),
      () => `${chars(word, length - 1)}${pick(oddChars)}`,
      () => `s\u007f${chars(word, length - 2)}`,
    ])();
    return pick([value, value, value, '', 1, { id: 1 }]);
  };
  const leaf = (): unknown =>
    pick([
      0,
      -0,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 60,
      true,
      null,
      undefined,
      'text',
      'line\nbreak\ttab\\ "quote"',
      'é😀'.repeat(int(20)),
      'nul\u0000',
      'lone \udc00',
      new Date(NOW),
      [1, 'two', null],
      () => 1,
    ]);
  const object = (depth: number): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    for (let i = int(5); i > 0; i--) {
      result[pick(['k', 'model', 'tokens', 'path', '0', '10', 'x y', 'é', '', `k${int(100)}`])] =
        depth > 0 && next() < 0.3 ? object(depth - 1) : leaf();
    }
    return result;
  };
  const data = (): unknown => {
    if (next() < clean)
      return pick([{ k: int(1000), model: 'm\\1\n', tokens: 1.5 }, { path: `/p/${int(9)}` }, {}]);
    switch (int(16)) {
      case 0:
        return undefined;
      case 1:
        return null;
      case 2:
        return { big: 'é'.repeat(int(60)) }; // near a 64-byte limit in bytes, not in characters
      case 3:
        return Object.assign(Object.create(null), object(1));
      case 4:
        return pick([{ constructor: 'x' }, { constructor: Payload }, { constructor: () => 1 }]);
      case 5:
        return JSON.parse('{"__proto__": {"a": 1}, "b": 2}');
      case 6:
        return { a: 1, [Symbol('s')]: 2 };
      case 7:
        return pick([{ toJSON: () => 'x' }, Object.defineProperty({ a: 1 }, 'toJSON', { value: () => 2 })]);
      case 8:
        return Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false });
      case 9:
        return pick([
          [],
          new Payload(),
          new Map(),
          new Date(NOW),
          'text',
          3,
          Object.create({ inherited: 1 }),
        ]);
      case 10:
        return { n: 10n };
      case 11: {
        const circular: Record<string, unknown> = { a: 1 };
        circular.self = circular;
        return circular;
      }
      default:
        return object(2);
    }
  };
  const occurredAt = (): unknown =>
    next() < clean
      ? new Date(NOW.getTime() - int(60 * 86_400_000))
      : pick([
          undefined,
          new Date(NOW.getTime() - int(90 * 86_400_000)),
          new Date(NOW.getTime() + 86_400_000),
          new Date(NOW.getTime() + 86_400_001),
          new Date(Number.NaN),
          new LaterDate(NOW.getTime() - 1000),
          new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 999)),
          new Date(8.64e15),
          NOW.toISOString(),
          NOW.getTime(),
          null,
        ]);
  const fields: Record<string, () => unknown> = {
    userId: uuid,
    sessionId,
    eventType: () => patterned(word, 64),
    eventName: () => patterned(name, 128),
    data,
    occurredAt,
  };
  /** Mostly well-formed events, each field broken now and then, plus odd containers and keys. */
  return function event(): unknown {
    const result: Record<string, unknown> = {};
    for (const [key, make] of Object.entries(fields)) {
      const roll = next();
      if (key !== 'eventType' && key !== 'eventName' && roll < 0.2) continue;
      if (roll < 0.23) result[key] = undefined;
      else if (roll < 0.25) result[key] = null;
      else result[key] = make();
    }
    if (next() < clean) return result;
    switch (int(24)) {
      case 0:
        return { ...result, extra: 1 };
      case 1:
        return Object.defineProperty(result, 'hidden', { value: 1, enumerable: false });
      case 2:
        return { ...result, [Symbol('s')]: 1 };
      case 3:
        return Object.assign(Object.create(null), result);
      case 4:
        return Object.assign(new Custom(), result);
      case 5:
        return Object.assign(Object.create(result), {});
      case 6:
        return pick([null, undefined, 'event', 1, [result], new Date(NOW)]);
      case 7:
        return JSON.parse(`{"__proto__": 1, "eventType": "a", "eventName": "a"}`);
      default:
        return result;
    }
  };
}

const optionSets = [
  AnalyticsOptionsSchema.parse({}),
  AnalyticsOptionsSchema.parse({ maxDataBytes: 64, maxFutureMs: 0 }),
  AnalyticsOptionsSchema.parse({
    allowedEvents: { a: [], 'chat.sent': ['k', 'model', 'tokens', '0'], 'page.view': ['path'] },
  }),
];

describe('bulk validation fast path', () => {
  it('agrees with the zod schema on random and edge-case events (accept/reject, row, issues)', () => {
    const event = generator(SEED, 0.75);
    let fast = 0;
    let accepted = 0;
    const total = 30_000;
    for (let i = 0; i < total; i++) {
      const input = event();
      const options = optionSets[i % optionSets.length] as (typeof optionSets)[number];
      const where = `seed ${SEED}, event ${i}`;
      const parsed = fastParseEvent(input);
      if (parsed !== undefined) {
        fast++;
        // The fast path may refuse more than the schema, never less.
        expect(AnalyticsEventInputSchema.safeParse(input).success, where).toBe(true);
      }
      const result = prepareEvent(input, options, NOW);
      expect(result, where).toEqual(prepareEventWithZod(input, options, NOW));
      if (!Array.isArray(result)) accepted++;
    }
    // The generator must exercise both sides of every decision, and the fast path must carry most
    // well-formed events.
    expect(accepted).toBeGreaterThan(total * 0.1);
    expect(total - accepted).toBeGreaterThan(total * 0.3);
    expect(fast).toBeGreaterThan(accepted * 0.5);
  });

  it('accepts exactly at the limits and refuses one past them', () => {
    const options = optionSets[0] as (typeof optionSets)[number];
    const base = { eventType: 'a', eventName: 'a' };
    const cases: [unknown, boolean][] = [
      [{ ...base, eventType: 'a'.repeat(64) }, true],
      [{ ...base, eventType: 'a'.repeat(65) }, false],
      [{ ...base, eventName: 'a'.repeat(128) }, true],
      [{ ...base, eventName: 'a'.repeat(129) }, false],
      // Lengths are counted in code points.
      [{ ...base, sessionId: '😀'.repeat(128) }, true],
      [{ ...base, sessionId: `${'😀'.repeat(128)}x` }, false],
      [{ ...base, data: { s: 'x'.repeat(8192 - 8) } }, true],
      [{ ...base, data: { s: 'x'.repeat(8192 - 7) } }, false],
      [{ ...base, data: { s: 'é'.repeat(4092) } }, true],
      [{ ...base, data: { s: 'é'.repeat(4093) } }, false],
      [{ ...base, occurredAt: new Date(NOW.getTime() + 86_400_000) }, true],
      [{ ...base, occurredAt: new Date(NOW.getTime() + 86_400_001) }, false],
      [{ ...base, userId: 'ffffffff-ffff-ffff-ffff-ffffffffffff' }, true],
      [{ ...base, userId: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF' }, false],
    ];
    for (const [input, ok] of cases) {
      const result = prepareEvent(input, options, NOW);
      expect(!Array.isArray(result), JSON.stringify(input).slice(0, 80)).toBe(ok);
      expect(result).toEqual(prepareEventWithZod(input, options, NOW));
    }
  });
});

describe('trackMany with random events', () => {
  let database: TestDatabase;
  let cb: Carebase;

  beforeAll(async () => {
    database = await createTestDatabase();
    cb = createCarebase({
      connectionString: database.url,
      clock: { now: () => NOW },
      analytics: { autoRefreshIntervalMs: 0, maxDataBytes: 64, maxFutureMs: 0 },
    });
  });

  afterAll(async () => {
    await cb?.close();
    await database?.drop();
  });

  it('stores every millisecond exactly through binary COPY, before and after 2000 and 1970', async () => {
    await cb.db.deleteFrom('analytics_events').execute();
    const next = random(SEED + 2);
    const edges = [
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 0, 1),
      Date.UTC(2000, 0, 1, 0, 0, 0, 1),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      Date.UTC(1970, 0, 1),
      NOW.getTime(),
    ];
    const times = Array.from({ length: 600 }, (_, i) =>
      i < edges.length ? (edges[i] as number) : NOW.getTime() - Math.floor(next() * 40 * 365 * 86_400_000),
    );
    const result = await cb.analytics.trackMany(
      times.map((ms) => ({ eventType: 'a', eventName: 'a', occurredAt: new Date(ms) })),
    );
    expect(result.inserted).toBe(600);
    const rows = await cb.db.selectFrom('analytics_events').select('occurred_at').orderBy('id').execute();
    expect(rows.map((row) => row.occurred_at.getTime())).toEqual(times);
  }, 60_000);

  it('stores exactly the rows the zod reference prepares and reports the events it refuses', async () => {
    const options = optionSets[1] as (typeof optionSets)[number];
    const event = generator(SEED + 1, 0.85);
    // Dates the database can hold in a few partitions; sessions without lone surrogates (UTF-8).
    const inputs = Array.from({ length: 4000 }, event).filter((input) => {
      const { occurredAt, sessionId } = (input ?? {}) as { occurredAt?: unknown; sessionId?: unknown };
      if (occurredAt instanceof Date && NOW.getTime() - occurredAt.getTime() > 90 * 86_400_000) return false;
      return typeof sessionId !== 'string' || !LONE_SURROGATE.test(sessionId);
    });
    const expected = inputs.map((input) => prepareEventWithZod(input, options, NOW));
    await cb.db.deleteFrom('analytics_events').execute();
    const result = await cb.analytics.trackMany(inputs as never, { onInvalid: 'skip' });
    expect(result.rejected).toEqual(
      expected.flatMap((prepared, index) => (Array.isArray(prepared) ? [{ index, issues: prepared }] : [])),
    );
    const rows = await cb.db.selectFrom('analytics_events').selectAll().orderBy('id').execute();
    const good = expected.filter((prepared): prepared is PreparedEvent => !Array.isArray(prepared));
    expect(result.inserted).toBe(good.length);
    expect(good.length).toBeGreaterThan(500); // the COPY path
    expect(rows.map(({ id: _, ...row }) => row)).toEqual(
      good.map((prepared) => ({
        occurred_at: prepared.occurredAt,
        user_id: prepared.userId?.toLowerCase() ?? null,
        session_id: prepared.sessionId,
        event_type: prepared.eventType,
        event_name: prepared.eventName,
        data: prepared.data === null ? null : JSON.parse(prepared.data),
        measures: prepared.measures === null ? null : JSON.parse(prepared.measures),
      })),
    );
  }, 60_000);
});
