import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgbouncerMissing } from '../support/pgbouncer.js';
import {
  actAs,
  count,
  enableRowSecurity,
  newUser,
  type RlsBehindPgBouncer,
  rawTransaction,
  startRlsBehindPgBouncer,
} from '../support/rls.js';

// Row-level security of analytics rows (migration 0047, `rls: true`, `grantAppRole({ rowSecurity:
// true })`): as the least-privilege app role, raw SQL sees only the events of the user carebase
// set for the transaction (anonymous events: none), while every analytics method, a system path
// over every user's events, still works through the analytics scope (`carebase.system_scope`).

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Runs one statement on its own connection to `url` (autocommit). */
async function rawStatement(url: string, text: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(text, params);
  } finally {
    await client.end();
  }
}

describe('analytics row-level security as the app role', () => {
  let database: TestDatabase;
  let cb: Carebase;
  let ana: string;
  let ben: string;
  let cleo: string;
  const now = Date.now();
  // The fixture's events span the six hours before hourStart; keep them inside one UTC day, so
  // the 'day' buckets below hold both users whatever the hour the suite runs (before 07:00 UTC,
  // the events fall on the evening before).
  const thisHour = Math.floor(now / HOUR) * HOUR;
  const hourStart = new Date(thisHour).getUTCHours() < 7 ? Math.floor(now / DAY) * DAY - HOUR : thisHour;

  beforeAll(async () => {
    database = await createTestDatabase({
      role: 'app',
      spares: 0,
      carebase: { rls: true, analytics: { rollupSettleMs: 0, autoRefreshIntervalMs: 0, copyThreshold: 50 } },
    });
    await enableRowSecurity(database);
    cb = database.db;
    ana = await newUser(cb, 'ana');
    ben = await newUser(cb, 'ben');
    cleo = await newUser(cb, 'cleo');
    // No actor: the host's server tracks for any user, anonymous events too.
    await cb.analytics.track({
      userId: ana,
      eventType: 'feature',
      eventName: 'user.login',
      occurredAt: new Date(hourStart - 5 * HOUR),
    });
    await cb.analytics.track({
      userId: ana,
      eventType: 'feature',
      eventName: 'chat.message_sent',
      occurredAt: new Date(hourStart - 5 * HOUR + 60_000),
    });
    await cb.analytics.track({
      eventType: 'page',
      eventName: 'page.view',
      occurredAt: new Date(hourStart - 4 * HOUR),
    });
    // An actor's scope still writes other users' events: analytics is a system path.
    await cb.withActor({ userId: ana }).analytics.track({
      userId: ben,
      eventType: 'feature',
      eventName: 'user.login',
      occurredAt: new Date(hourStart - 3 * HOUR),
    });
    await cb.analytics.trackMany([
      {
        userId: ana,
        eventType: 'feature',
        eventName: 'careplan.view',
        occurredAt: new Date(hourStart - 5 * HOUR + 120_000),
      },
      {
        userId: ben,
        eventType: 'feature',
        eventName: 'chat.message_sent',
        occurredAt: new Date(hourStart - 2 * HOUR),
      },
    ]);
    await cb.analytics.refreshRollups();
  }, 60_000);

  afterAll(() => database?.drop());

  it('shows raw SQL without carebase.actor_user_id no analytics rows (the owner sees them)', async () => {
    await rawTransaction(database.ownerUrl, async (owner) => {
      expect(await count(owner, 'analytics_events')).toBe(6);
      expect(await count(owner, 'analytics_user_keys')).toBe(2);
    });
    await rawTransaction(database.url, async (app) => {
      expect(await count(app, 'analytics_events')).toBe(0);
      expect(await count(app, 'analytics_user_keys')).toBe(0);
      // Aggregates are not protected (documented): counts per hour, no user ids.
      expect(await count(app, 'analytics_rollup_hourly')).toBeGreaterThan(0);
    });
  });

  it("shows raw SQL under another user's id none of this user's events, and anonymous ones to no user", async () => {
    await rawTransaction(database.url, async (app) => {
      await actAs(app, cleo);
      expect(await count(app, 'analytics_events')).toBe(0);
      expect(await count(app, 'analytics_user_keys')).toBe(0);
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, ben);
      expect(await count(app, 'analytics_events')).toBe(2);
      expect(await count(app, 'analytics_events', 'user_id = $1', [ana])).toBe(0);
      expect(await count(app, 'analytics_events', 'user_id is null')).toBe(0);
      expect(await count(app, 'analytics_user_keys')).toBe(1);
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, ana);
      expect(await count(app, 'analytics_events')).toBe(3);
      expect(await count(app, 'analytics_events', 'user_id <> $1', [ana])).toBe(0);
    });
  });

  it("refuses raw writes of another user's or anonymous events, and changes none (42501)", async () => {
    const insert = `insert into carebase.analytics_events (user_id, event_type, event_name) values ($1, 'feature', 'planted')`;
    await rawTransaction(database.url, async (app) => {
      await actAs(app, cleo);
      await expect(app.query(insert, [ana])).rejects.toMatchObject({ code: '42501' });
    });
    await rawTransaction(database.url, async (app) => {
      await expect(app.query(insert, [null])).rejects.toMatchObject({ code: '42501' });
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, cleo);
      expect((await app.query('delete from carebase.analytics_events')).rowCount).toBe(0);
      expect((await app.query('delete from carebase.analytics_user_keys')).rowCount).toBe(0);
    });
    await rawTransaction(database.ownerUrl, async (owner) => {
      expect(await count(owner, 'analytics_events')).toBeGreaterThanOrEqual(6);
    });
  });

  it('denies the app role the partitions themselves, and covers partitions created later', async () => {
    // A month far ahead: created now, after row-level security was turned on.
    const future = new Date(Date.UTC(new Date(now).getUTCFullYear() + 2, 0, 15));
    await sql`select carebase.analytics_ensure_partitions(${future}, 0)`.execute(cb.db);
    const partition = `analytics_events_p${future.getUTCFullYear()}01`;
    await rawStatement(
      database.ownerUrl,
      `insert into carebase.analytics_events (occurred_at, user_id, event_type, event_name) values ($1, $2, 'feature', 'future.view')`,
      [future, ana],
    );
    await rawTransaction(database.url, async (app) => {
      await actAs(app, ana);
      await expect(app.query(`select count(*) from carebase.${partition}`)).rejects.toMatchObject({
        code: '42501',
      });
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, cleo);
      expect(await count(app, 'analytics_events', 'occurred_at = $1', [future])).toBe(0);
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, ana);
      expect(await count(app, 'analytics_events', 'occurred_at = $1', [future])).toBe(1);
    });
    // analytics_track() (track's one-statement path under rls) is the app role's, not PUBLIC's.
    await rawTransaction(database.ownerUrl, async (owner) => {
      const { rows } = await owner.query<{ grantees: string[] }>(
        `select array_agg(coalesce(r.rolname, 'PUBLIC') order by 1) as grantees
           from pg_proc p cross join aclexplode(p.proacl) a left join pg_roles r on r.oid = a.grantee
          where p.proname = 'analytics_track' and p.pronamespace = 'carebase'::regnamespace`,
      );
      expect(rows[0]?.grantees).not.toContain('PUBLIC');
      expect(rows[0]?.grantees).toContain(decodeURIComponent(new URL(database.url).username));
    });
    await rawStatement(database.ownerUrl, 'delete from carebase.analytics_events where occurred_at = $1', [
      future,
    ]);
  });

  it('runs every analytics method for an instance with rls (all users, anonymous included)', async () => {
    const from = new Date(hourStart - 6 * HOUR);
    const to = new Date(hourStart + HOUR);
    const summary = await cb.analytics.summary({ from, to });
    expect(summary.totalEvents).toBe(6);
    expect(summary.uniqueUsers).toBe(2);
    // The same through a scope with a user: analytics is not narrowed to the scope's user.
    const asCleo = cb.withActor({ userId: cleo });
    expect((await asCleo.analytics.summary({ from, to })).totalEvents).toBe(6);
    expect((await cb.analytics.summary({ from, to, userId: ana })).totalEvents).toBe(3);
    const series = await cb.analytics.timeseries({ from, to, bucket: 'hour' });
    expect(series.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(6);
    const active = await asCleo.analytics.activeUsers({ from, to, bucket: 'day' });
    expect(Math.max(...active.map((bucket) => bucket.activeUsers))).toBe(2);
    const top = await cb.analytics.topEvents({ from, to, limit: 2 });
    expect(top.find((event) => event.eventName === 'user.login')).toMatchObject({ count: 2, uniqueUsers: 2 });
    const funnel = await asCleo.analytics.funnel({
      steps: ['user.login', 'chat.message_sent'],
      within: 6 * HOUR,
      from,
      to,
    });
    expect(funnel.steps.map((step) => step.count)).toEqual([2, 2]);
    const cohorts = await cb.analytics.retention({
      cohortEvent: 'user.login',
      returnEvent: 'chat.message_sent',
      period: 'day',
      from: new Date(hourStart - 2 * DAY),
      to,
    });
    expect(cohorts.reduce((sum, cohort) => sum + cohort.users, 0)).toBe(2);

    // Writes: a COPY-sized batch (inserts under rls), a buffer, and inside a host transaction.
    const batch = Array.from({ length: 60 }, (_, i) => ({
      userId: i % 2 === 0 ? ana : undefined,
      eventType: 'feature',
      eventName: 'batch.event',
      occurredAt: new Date(hourStart - HOUR + i * 1000),
    }));
    expect((await cb.analytics.trackMany(batch)).inserted).toBe(60);
    const buffer = cb.analytics.buffer({ maxEvents: 10, maxDelayMs: 50 });
    buffer.track({
      userId: ben,
      eventType: 'feature',
      eventName: 'buffered.event',
      occurredAt: new Date(hourStart - HOUR),
    });
    await buffer.close();
    const seen = await cb.withActor({ userId: ana }).transaction(async (tx) => {
      await tx.analytics.track({
        userId: ben,
        eventType: 'feature',
        eventName: 'tx.event',
        occurredAt: new Date(hourStart - HOUR),
      });
      const inside = (await tx.analytics.summary({ from, to })).totalEvents;
      // After carebase's analytics call, the host's own SQL in the transaction is Ana's again.
      const { rows } = await sql<{ n: string }>`select count(*) as n from carebase.analytics_events`.execute(
        tx.db,
      );
      const scope = await sql<{
        v: string | null;
      }>`select current_setting('carebase.system_scope', true) as v`.execute(tx.db);
      return { inside, raw: Number(rows[0]?.n), scope: scope.rows[0]?.v ?? '' };
    });
    expect(seen).toEqual({ inside: 6 + 60 + 1 + 1, raw: 3 + 30, scope: '' });
    expect((await cb.analytics.refreshRollups()).hoursRefreshed).toBeGreaterThan(0);
    expect((await cb.analytics.summary({ from, to })).totalEvents).toBe(68);

    // Retention: an event 20 months back has its own partition, dropped through the owner's function.
    const old = new Date(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() - 20, 10));
    await cb.analytics.track({ userId: ben, eventType: 'feature', eventName: 'old.event', occurredAt: old });
    const retention = await cb.analytics.applyRetention({ keepMonths: 13 });
    expect(retention.droppedPartitions.length).toBeGreaterThanOrEqual(1);
    // The old event stays counted in the rollups.
    expect(
      (await cb.analytics.summary({ from: new Date(old.getTime() - DAY), to: new Date(old.getTime() + DAY) }))
        .totalEvents,
    ).toBe(1);
  });

  it('exports and erases a data subject (acting for the subject)', async () => {
    const admin = cb.withActor({ userId: cleo });
    const exported = await admin.users.exportData(ana);
    expect(exported.analytics.events.length).toBe(3 + 30);
    expect(exported.analytics.events.every((event) => event.eventName !== 'page.view')).toBe(true);
    const erased = await admin.users.erase(ben);
    expect(erased.analytics.events).toBeGreaterThanOrEqual(4);
    await rawTransaction(database.ownerUrl, async (owner) => {
      expect(await count(owner, 'analytics_events', 'user_id = $1', [ben])).toBe(0);
      expect(await count(owner, 'analytics_user_keys', 'user_id = $1', [ben])).toBe(0);
      expect(await count(owner, 'analytics_events', 'user_id = $1', [ana])).toBe(33);
    });
  });

  it('leaves no analytics scope on the pool after carebase ran', async () => {
    await Promise.all(
      Array.from({ length: 4 }, () =>
        cb.analytics.summary({ from: new Date(now - DAY), to: new Date(now + HOUR) }),
      ),
    );
    const values = await Promise.all(
      Array.from({ length: 6 }, () =>
        cb.transaction(async (tx) => {
          const { rows } = await sql<{
            v: string | null;
          }>`select current_setting('carebase.system_scope', true) as v`.execute(tx.db);
          const events = await sql<{
            n: string;
          }>`select count(*) as n from carebase.analytics_events`.execute(tx.db);
          return `${rows[0]?.v ?? ''}/${events.rows[0]?.n}`;
        }),
      ),
    );
    expect(values.every((value) => value === '/0')).toBe(true);
  });
});

describe.skipIf(pgbouncerMissing !== undefined)(
  'analytics row-level security behind PgBouncer (transaction mode)',
  () => {
    let setup: RlsBehindPgBouncer;
    let database: TestDatabase;
    let cb: Carebase;

    beforeAll(async () => {
      setup = await startRlsBehindPgBouncer();
      ({ database } = setup);
      cb = createCarebase({
        connectionString: setup.url,
        pooler: 'transaction',
        rls: true,
        pool: { max: 8 },
        analytics: { rollupSettleMs: 0, autoRefreshIntervalMs: 0, copyThreshold: 20 },
      });
    }, 120_000);

    afterAll(async () => {
      await cb?.close();
      await setup?.stop();
    });

    it('tracks, summarizes and refreshes for every user, and leaves no setting on the server connections', async () => {
      const users = await Promise.all(Array.from({ length: 4 }, (_, i) => newUser(database.db, `p${i}`)));
      const at = new Date(Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR);
      await Promise.all(
        users.map((userId) =>
          cb
            .withActor({ userId })
            .analytics.track({ userId, eventType: 'feature', eventName: 'user.login', occurredAt: at }),
        ),
      );
      await cb.analytics.trackMany(
        Array.from({ length: 30 }, (_, i) => ({
          userId: users[i % 4],
          eventType: 'feature',
          eventName: 'chat.message_sent',
          occurredAt: at,
        })),
      );
      await cb.analytics.refreshRollups();
      const summaries = await Promise.all(
        Array.from({ length: 8 }, () =>
          cb.analytics.summary({ from: new Date(at.getTime() - HOUR), to: new Date(at.getTime() + HOUR) }),
        ),
      );
      for (const summary of summaries) expect(summary).toMatchObject({ totalEvents: 34, uniqueUsers: 4 });
      await rawTransaction(setup.url, async (app) => {
        const { rows } = await app.query<{ user: string | null; scope: string | null }>(
          "select current_setting('carebase.actor_user_id', true) as user, current_setting('carebase.system_scope', true) as scope",
        );
        expect(rows[0]?.user ?? '').toBe('');
        expect(rows[0]?.scope ?? '').toBe('');
        expect(await count(app, 'analytics_events')).toBe(0);
      });
    });
  },
);
