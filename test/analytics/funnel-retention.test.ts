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
const HOUR = 3_600_000;
const SEED = Number(process.env.ANALYTICS_TEST_SEED ?? 20261122);
const random = mulberry32(SEED);
const user = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const STEPS = ['user.login', 'chat.message_sent', 'careplan.view'] as const;
const FROM = new Date('2026-09-14T05:00:00Z');
const TO = new Date('2026-11-16T05:00:00Z');
const WITHIN = 2 * HOUR;
/** The hand-made edge cases live in their own range, away from the random data. */
const E_FROM = new Date('2026-03-02T00:00:00Z');
const E_TO = new Date('2026-03-20T00:00:00Z');

interface TestEvent {
  userId?: string;
  sessionId?: string;
  eventType: string;
  eventName: string;
  occurredAt: Date;
}

function ev(userId: string | undefined, eventName: string, at: number, sessionId?: string): TestEvent {
  return {
    ...(userId === undefined ? {} : { userId }),
    ...(sessionId === undefined ? {} : { sessionId }),
    eventType: 'feature',
    eventName,
    occurredAt: new Date(at),
  };
}

/** Hand-made edge cases (users 900+), then random visits of 200 users. */
function dataset(): TestEvent[] {
  const out: TestEvent[] = [];
  const t = E_FROM.getTime() + 10 * DAY;
  // Same timestamp for login and chat, plan view an hour later: all three steps.
  out.push(
    ev(user(900), 'chat.message_sent', t),
    ev(user(900), 'user.login', t),
    ev(user(900), 'careplan.view', t + HOUR),
  );
  // Steps out of order: chat, plan view, then login; only step 1.
  out.push(
    ev(user(901), 'chat.message_sent', t),
    ev(user(901), 'careplan.view', t + 1),
    ev(user(901), 'user.login', t + 2),
  );
  // Login just before the range: not in the funnel; its chat inside does not count either.
  out.push(
    ev(user(902), 'user.login', E_FROM.getTime() - 1),
    ev(user(902), 'chat.message_sent', E_FROM.getTime() + 1),
  );
  // Exactly at the window's edge (included), one millisecond past it (excluded).
  out.push(
    ev(user(903), 'user.login', t),
    ev(user(903), 'chat.message_sent', t + WITHIN),
    ev(user(903), 'careplan.view', t + WITHIN + 1),
  );
  // First step just before `to`, later steps after it but inside the window.
  out.push(
    ev(user(904), 'user.login', E_TO.getTime() - 1),
    ev(user(904), 'chat.message_sent', E_TO.getTime() + 10),
    ev(user(904), 'careplan.view', E_TO.getTime() + HOUR),
  );
  // An early login whose window passes; a later login converts.
  out.push(
    ev(user(905), 'user.login', t),
    ev(user(905), 'user.login', t + 5 * HOUR),
    ev(user(905), 'chat.message_sent', t + 6 * HOUR),
    ev(user(905), 'careplan.view', t + 7 * HOUR - 1),
  );
  // Anonymous events never count.
  out.push(ev(undefined, 'user.login', t), ev(undefined, 'chat.message_sent', t + 1));
  // Random visits: bursts of the three steps (sometimes shuffled or missing) and noise.
  for (let u = 0; u < 200; u++) {
    const visits = Math.floor(random() * 12);
    for (let v = 0; v < visits; v++) {
      const start = FROM.getTime() - 3 * DAY + Math.floor(random() * 70 * DAY);
      const session = `s-${u}-${v}`;
      let at = start;
      for (const name of STEPS) {
        if (random() < 0.25) continue;
        // Same instant sometimes, else minutes to hours later, sometimes before the previous step.
        const r = random();
        at =
          r < 0.1
            ? at
            : r < 0.85
              ? at + Math.floor(random() * 90 * 60_000)
              : at - Math.floor(random() * HOUR);
        out.push(ev(user(u), name, at, session));
      }
      if (random() < 0.3) out.push(ev(user(u), 'page.view', start + Math.floor(random() * DAY), session));
    }
  }
  return out;
}

const events = sql.id('carebase', 'analytics_events');
let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({
    carebase: { clock: { now: () => NOW }, analytics: { autoRefreshIntervalMs: 0 } },
  });
  cb = database.db;
  const all = dataset();
  expect((await cb.analytics.trackMany(all)).inserted).toBe(all.length);
});

afterAll(async () => {
  await database?.drop();
});

/** The definition itself, as joins: events of steps 1..k with t1 <= t2 <= ... and tk - t1 <= within. */
async function referenceFunnel(
  steps: readonly string[],
  within: number,
  from: Date,
  to: Date,
  by: 'user_id' | 'session_id',
): Promise<number[]> {
  const counts: number[] = [];
  const w = sql`${`${within} milliseconds`}::interval`;
  const actor = sql.raw(by);
  for (let k = 1; k <= steps.length; k++) {
    const joins = [];
    for (let j = 2; j <= k; j++) {
      const e = sql.raw(`e${j}`);
      const prev = sql.raw(`e${j - 1}`);
      joins.push(sql`join ${events} ${e} on ${e}.${actor} = e1.${actor} and ${e}.event_name = ${steps[j - 1]}
        and ${e}.occurred_at >= ${prev}.occurred_at and ${e}.occurred_at <= e1.occurred_at + ${w}`);
    }
    const { rows } = await sql<{ n: string }>`
      select count(distinct e1.${actor}) as n from ${events} e1 ${sql.join(joins, sql` `)}
      where e1.event_name = ${steps[0]} and e1.occurred_at >= ${from} and e1.occurred_at < ${to}
        and e1.${actor} is not null`.execute(cb.db);
    counts.push(Number(rows[0]?.n));
  }
  return counts;
}

/** Retention by its definition, period by period with local calendar arithmetic. */
async function referenceRetention(
  cohortEvent: string,
  returnEvent: string,
  unit: 'day' | 'week',
  from: Date,
  to: Date,
  cohort: 'first' | 'recurring',
  tz: string,
) {
  const step = sql`${unit === 'day' ? '1 day' : '7 days'}::interval`;
  const { rows } = await sql<{ c: Date; users: string; returned: string[] }>`
    with periods as (
      select p as local_start, p at time zone ${tz} as c
      from generate_series(date_trunc(${unit}, ${from}::timestamptz at time zone ${tz}),
        ${new Date(to.getTime() - 1)}::timestamptz at time zone ${tz}, ${step}) p
    ), members as (
      select p.c, p.local_start, u.user_id from periods p
      join lateral (
        select distinct e.user_id from ${events} e
        where e.event_name = ${cohortEvent} and e.user_id is not null
          and e.occurred_at >= greatest(p.c, ${from}::timestamptz) and e.occurred_at < least((p.local_start + ${step}) at time zone ${tz}, ${to}::timestamptz)
          and (${cohort} = 'recurring' or not exists (
            select 1 from ${events} x where x.user_id = e.user_id and x.event_name = ${cohortEvent}
              and x.occurred_at >= ${from} and x.occurred_at < p.c))
      ) u on true
    )
    select p.c,
      (select count(*) from members m where m.c = p.c) as users,
      array(
        select (select count(*) from members m where m.c = p.c and exists (
          select 1 from ${events} r where r.user_id = m.user_id and r.event_name = ${returnEvent}
            and r.occurred_at >= greatest((p.local_start + i * ${step}) at time zone ${tz}, ${from}::timestamptz)
            and r.occurred_at < least((p.local_start + (i + 1) * ${step}) at time zone ${tz}, ${to}::timestamptz)))
        from generate_series(0, (select count(*) - 1 from periods q where q.c >= p.c)::int) i order by i
      ) as returned
    from periods p order by p.c`.execute(cb.db);
  return rows.map((row) => ({
    cohortStart: row.c,
    users: Number(row.users),
    returned: row.returned.map(Number),
  }));
}

describe('funnels', () => {
  it('equals the reference SQL, edge cases included (same instant, out of order, window edges, late steps)', async () => {
    const result = await cb.analytics.funnel({ steps: [...STEPS], within: WITHIN, from: FROM, to: TO });
    const expected = await referenceFunnel(STEPS, WITHIN, FROM, TO, 'user_id');
    expect(result.steps.map((s) => s.count)).toEqual(expected);
    expect(expected[2]).toBeGreaterThan(20);
    expect(expected[0]).toBeGreaterThan(expected[2] as number);
    expect(result.steps[0]?.conversionRate).toBe(1);
    expect(result.steps[2]?.conversionRate).toBeCloseTo(
      (expected[2] as number) / (expected[0] as number),
      12,
    );
    expect(result.steps[2]?.stepConversionRate).toBeCloseTo(
      (expected[2] as number) / (expected[1] as number),
      12,
    );
  });

  it('decides each hand-made edge case as documented', async () => {
    // Entered: 900, 901, 903, 904, 905 (902 logged in before the range). Step 2: 900 (same
    // instant), 903 (exactly at the window's edge), 904 (after `to`, inside the window), 905 (the
    // later login); 901 chatted before logging in. Step 3: 900, 904, 905 (903's view is 1 ms late).
    const result = await cb.analytics.funnel({ steps: [...STEPS], within: WITHIN, from: E_FROM, to: E_TO });
    expect(result.steps.map((s) => s.count)).toEqual([5, 4, 3]);
    expect(await referenceFunnel(STEPS, WITHIN, E_FROM, E_TO, 'user_id')).toEqual([5, 4, 3]);
    // Narrower windows: 903's chat is now late; 905's views need the later login.
    const narrow = await cb.analytics.funnel({
      steps: [...STEPS],
      within: WITHIN - 1,
      from: E_FROM,
      to: E_TO,
    });
    expect(narrow.steps.map((s) => s.count)).toEqual([5, 3, 3]);
  });

  it('by session equals the reference SQL over session ids, and other windows and step lists too', async () => {
    for (const [steps, within] of [
      [STEPS, WITHIN],
      [['chat.message_sent', 'user.login'], 30 * 60_000],
      [['user.login', 'careplan.view', 'chat.message_sent', 'page.view'], 3 * DAY],
    ] as const) {
      const bySession = await cb.analytics.funnel({
        steps: [...steps],
        within,
        from: FROM,
        to: TO,
        by: 'session',
      });
      expect(bySession.steps.map((s) => s.count)).toEqual(
        await referenceFunnel(steps, within, FROM, TO, 'session_id'),
      );
      const byUser = await cb.analytics.funnel({ steps: [...steps], within, from: FROM, to: TO });
      expect(byUser.steps.map((s) => s.count)).toEqual(
        await referenceFunnel(steps, within, FROM, TO, 'user_id'),
      );
    }
  });

  it('refuses bad input with a ValidationError naming the field', async () => {
    for (const [input, field] of [
      [{ steps: ['a'], within: 1000, from: FROM, to: TO }, 'steps'],
      [{ steps: ['a', 'a'], within: 1000, from: FROM, to: TO }, 'steps'],
      [{ steps: ['a', 'B'], within: 1000, from: FROM, to: TO }, 'steps.1'],
      [{ steps: ['a', 'b'], within: 0, from: FROM, to: TO }, 'within'],
      [{ steps: ['a', 'b'], within: 1000, from: TO, to: FROM }, 'to'],
    ] as const) {
      const error = await cb.analytics.funnel(input as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
    }
  });
});

describe('retention', () => {
  it('equals the reference SQL for day and week periods, first and recurring cohorts, UTC and a DST zone', async () => {
    for (const period of ['day', 'week'] as const) {
      for (const cohort of ['first', 'recurring'] as const) {
        for (const timezone of ['UTC', 'America/New_York']) {
          const got = await cb.analytics.retention({
            cohortEvent: 'user.login',
            returnEvent: 'chat.message_sent',
            period,
            from: FROM,
            to: TO,
            cohort,
            timezone,
          });
          const expected = await referenceRetention(
            'user.login',
            'chat.message_sent',
            period,
            FROM,
            TO,
            cohort,
            timezone,
          );
          expect(got, `${period} ${cohort} ${timezone}`).toEqual(expected);
        }
      }
    }
  });

  it('counts a user in several cohorts only when recurring, and period 0 when cohort and return events match', async () => {
    const first = await cb.analytics.retention({
      cohortEvent: 'user.login',
      returnEvent: 'user.login',
      period: 'week',
      from: FROM,
      to: TO,
    });
    const recurring = await cb.analytics.retention({
      cohortEvent: 'user.login',
      returnEvent: 'user.login',
      period: 'week',
      from: FROM,
      to: TO,
      cohort: 'recurring',
    });
    const { rows } = await sql<{ n: string }>`
      select count(distinct user_id) as n from ${events}
      where event_name = 'user.login' and occurred_at >= ${FROM} and occurred_at < ${TO} and user_id is not null`.execute(
      cb.db,
    );
    const sum = (list: typeof first) => list.reduce((total, c) => total + c.users, 0);
    expect(sum(first)).toBe(Number(rows[0]?.n)); // each user in exactly one cohort
    expect(sum(recurring)).toBeGreaterThan(sum(first)); // users in several cohorts
    for (const c of [...first, ...recurring]) expect(c.returned[0]).toBe(c.users);
    // Later cohorts have fewer periods to come back in.
    expect(first[0]?.returned.length).toBe(first.length);
    expect(first.at(-1)?.returned.length).toBe(1);
  });
});
