import { type Carebase, type ChatUsageQuery, createCarebase } from 'carebase';
import { grantAppRole } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerReport, reportValues, USAGE_GROUPS } from '../support/chat-usage.js';
import { pgbouncerMissing } from '../support/pgbouncer.js';
import {
  actAs,
  count,
  newUser,
  type RlsBehindPgBouncer,
  rawTransaction,
  startRlsBehindPgBouncer,
} from '../support/rls.js';

// The chat usage rollups under row-level security (migration 0049, `rls: true`,
// `grantAppRole({ rowSecurity: true })`): the refresh (explicit, in the background, in a user's
// scope or a host's transaction) rolls up every user's ledger through the `chat_usage` system
// scope, the report of a scope without a user equals one raw GROUP BY over the ledger (and the
// report of an rls-off instance), a user's scope sums only the usage of conversations they take
// part in, and raw SQL as the app role still sees no usage without the setting.

const DAY = 86_400_000;

describe('chat usage rollups under row-level security as the app role', () => {
  let database: TestDatabase;
  let cb: Carebase;
  let plain: Carebase;
  let ana: string;
  let ben: string;
  let cleo: string;
  let anaConv: string;
  let benConv: string;
  let shared: string;
  const today = Math.floor(Date.now() / DAY) * DAY;
  let nowMs = Date.now();
  const clock = { now: () => new Date(nowMs) };
  const analytics = { rollupSettleMs: 0, autoRefreshIntervalMs: 0 };
  const range = { from: new Date(today - 5 * DAY), to: new Date(today + DAY) };

  /** One raw GROUP BY over the whole ledger, as the owner (no policies, no rollups). */
  function ledger(query: ChatUsageQuery, conversations?: readonly string[]): Promise<unknown[]> {
    return rawTransaction(database.ownerUrl, (owner) =>
      ledgerReport(owner, 'carebase', query, conversations),
    );
  }

  /** Every group of the admin report (no actor) equals the ledger and the rls-off instance's report. */
  async function expectAdminReportExact(): Promise<void> {
    for (const groupBy of USAGE_GROUPS) {
      const query = { ...range, groupBy };
      const expected = await ledger(query);
      expect(expected.length, groupBy).toBeGreaterThan(0);
      expect(reportValues(await cb.chat.usage(query)), groupBy).toEqual(expected);
      expect(reportValues(await plain.chat.usage(query)), groupBy).toEqual(expected);
    }
  }

  /** The owner's view of the rollups: calls per (day, conversation), and of the ledger over rolled-up days. */
  async function rollupsMatchLedger(): Promise<void> {
    await rawTransaction(database.ownerUrl, async (owner) => {
      const { rows } = await owner.query<{ rolled: string; ledger: string; dirty: string }>(
        `select (select coalesce(sum(calls), 0) from carebase.chat_usage_daily)::text as rolled,
           (select count(*) from carebase.chat_usage u, carebase.chat_usage_rollup_state s
             where u.created_at < s.rolled_up_to)::text as ledger,
           (select count(*) from carebase.chat_usage_rollup_dirty)::text as dirty`,
      );
      expect(rows[0]?.dirty).toBe('0');
      expect(Number(rows[0]?.ledger)).toBeGreaterThan(0);
      expect(rows[0]?.rolled).toBe(rows[0]?.ledger);
    });
  }

  /**
   * Appends an assistant message with usage as `userId`, at `atMs` by the clock. A late write (into
   * a day already rolled up, which only a clock set back makes) goes through a batch (a question
   * and the answer), whose usage insert marks its day dirty; a single append's lands in today.
   */
  async function append(
    userId: string,
    conversationId: string,
    model: string,
    atMs: number,
    cost: string,
    late = false,
  ) {
    nowMs = atMs;
    const message = {
      userId,
      conversationId,
      role: 'assistant' as const,
      content: `answer by ${model}`,
      usage: {
        provider: 'p',
        model,
        inputTokens: 10,
        outputTokens: 20,
        cost,
        currency: 'USD',
        status: 'ok' as const,
      },
    };
    try {
      if (late)
        await cb
          .withActor({ userId })
          .chat.appendMany([{ userId, conversationId, role: 'user', content: 'question' }, message]);
      else await cb.withActor({ userId }).chat.append(message);
    } finally {
      nowMs = Date.now();
    }
  }

  async function setRowSecurity(enabled: boolean): Promise<void> {
    await grantAppRole(database.ownerUrl, {
      role: decodeURIComponent(new URL(database.url).username),
      rowSecurity: enabled,
    });
  }

  beforeAll(async () => {
    database = await createTestDatabase({
      role: 'app',
      spares: 0,
      carebase: { rls: true, clock, analytics },
    });
    await setRowSecurity(true);
    cb = database.db;
    // Row-level security off, as the owner (whom the policies never apply to): the reference.
    plain = createCarebase({ connectionString: database.ownerUrl, clock, analytics, pool: { max: 2 } });
    ana = await newUser(cb, 'ana');
    ben = await newUser(cb, 'ben');
    cleo = await newUser(cb, 'cleo');
    anaConv = (await cb.withActor({ userId: ana }).chat.createConversation({ userId: ana })).id;
    benConv = (await cb.withActor({ userId: ben }).chat.createConversation({ userId: ben })).id;
    shared = (await cb.withActor({ userId: ana }).chat.createConversation({ userId: ana })).id;
    await cb
      .withActor({ userId: ana })
      .chat.addParticipant({ userId: ana, conversationId: shared, participantId: ben, role: 'member' });
    // Two users' usage in their own conversations and in the shared one, over closed days and today.
    await append(ana, anaConv, 'gpt-x', today - 3 * DAY + 3_600_000, '0.010000000001');
    await append(ben, benConv, 'claude', today - 3 * DAY + 7_200_000, '0.02');
    await append(ben, benConv, 'gpt-x', today - 2 * DAY + 3_600_000, '0.03');
    await append(ben, shared, 'claude', today - 2 * DAY + 7_200_000, '0.04');
    await append(ana, shared, 'gpt-x', today - 2 * DAY + 9_000_000, '0.05');
    await append(ana, anaConv, 'claude', Date.now(), '0.06');
  }, 60_000);

  afterAll(async () => {
    await plain?.close();
    await database?.drop();
  });

  it('rolls up every user in the background refresh that usage() starts (no actor)', async () => {
    await expectAdminReportExact();
    const background = createCarebase({
      connectionString: database.url,
      rls: true,
      clock,
      analytics: { rollupSettleMs: 0, autoRefreshIntervalMs: 60_000 },
      pool: { max: 2 },
    });
    try {
      await background.chat.usage({ ...range, groupBy: 'day' });
    } finally {
      await background.close(); // awaits the background refresh
    }
    await rollupsMatchLedger();
    await expectAdminReportExact();
  });

  it('rolls up every user in refreshUsageRollups() without an actor, in a user scope and in a host transaction', async () => {
    // Late usage into rolled-up days: the days are dirty until the next refresh.
    await append(ana, anaConv, 'gpt-x', today - 3 * DAY + 10_800_000, '0.07', true);
    const result = await cb.chat.refreshUsageRollups();
    expect(result.daysRefreshed).toBeGreaterThanOrEqual(1);
    await rollupsMatchLedger();
    await expectAdminReportExact();

    await append(ben, benConv, 'gpt-x', today - 2 * DAY + 10_800_000, '0.08', true);
    // Cleo takes part in no conversation: the rollups still hold everyone's usage.
    await cb.withActor({ userId: cleo }).chat.refreshUsageRollups();
    await rollupsMatchLedger();
    await expectAdminReportExact();

    await append(ana, shared, 'claude', today - 3 * DAY + 14_400_000, '0.09', true);
    const inside = await cb.withActor({ userId: ana }).transaction(async (tx) => {
      await tx.chat.refreshUsageRollups();
      // After carebase's refresh, the host's own SQL in the transaction is Ana's again.
      const { rows } = await sql<{ n: string; scope: string | null }>`select count(*) as n,
          current_setting('carebase.system_scope', true) as scope from carebase.chat_usage`.execute(tx.db);
      return { n: Number(rows[0]?.n), scope: rows[0]?.scope ?? '' };
    });
    // Ana sees her conversation's 3 calls and the shared one's 3, not Ben's own.
    expect(inside).toEqual({ n: 6, scope: '' });
    await rollupsMatchLedger();
    await expectAdminReportExact();
  });

  it('shows raw SQL without carebase.actor_user_id no usage rows, and a user only their conversations', async () => {
    await rawTransaction(database.ownerUrl, async (owner) => {
      expect(await count(owner, 'chat_usage')).toBe(9);
      expect(await count(owner, 'chat_usage_daily')).toBeGreaterThan(0);
    });
    await rawTransaction(database.url, async (app) => {
      expect(await count(app, 'chat_usage')).toBe(0);
      expect(await count(app, 'chat_usage_daily')).toBe(0);
      // Per day, model and currency, no user or conversation: not protected (documented).
      expect(await count(app, 'chat_usage_daily_totals')).toBeGreaterThan(0);
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, cleo);
      expect(await count(app, 'chat_usage')).toBe(0);
      expect(await count(app, 'chat_usage_daily')).toBe(0);
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, ben);
      expect(await count(app, 'chat_usage')).toBe(6);
      expect(await count(app, 'chat_usage', 'conversation_id = $1', [anaConv])).toBe(0);
      expect(await count(app, 'chat_usage_daily')).toBeGreaterThan(0);
      expect(await count(app, 'chat_usage_daily', 'conversation_id = $1', [anaConv])).toBe(0);
      // No writes into another user's conversation's rollup either.
      await expect(
        app.query(
          `insert into carebase.chat_usage_daily (day, user_id, conversation_id, author_user_id, provider, model,
             currency, calls, ok_calls, error_calls, aborted_calls, input_tokens, output_tokens, cached_tokens,
             reasoning_tokens, cost)
           values ($1, $2, $3, $2, 'p', 'planted', null, 1, 1, 0, 0, 0, 0, 0, 0, null)`,
          [new Date(today - 4 * DAY), ana, anaConv],
        ),
      ).rejects.toMatchObject({ code: '42501' });
    });
  });

  it("sums only the usage of a user's conversations on that user's scope", async () => {
    for (const groupBy of USAGE_GROUPS) {
      const query = { ...range, groupBy };
      expect(reportValues(await cb.withActor({ userId: ben }).chat.usage(query)), groupBy).toEqual(
        await ledger(query, [benConv, shared]),
      );
      expect(reportValues(await cb.withActor({ userId: ana }).chat.usage(query)), groupBy).toEqual(
        await ledger(query, [anaConv, shared]),
      );
      expect(await cb.withActor({ userId: cleo }).chat.usage(query), groupBy).toEqual([]);
    }
    // The same with the policies off (rls: true before grantAppRole({ rowSecurity: true })): the
    // report narrows both sides to the user's conversations itself.
    await setRowSecurity(false);
    try {
      for (const groupBy of USAGE_GROUPS) {
        const query = { ...range, groupBy };
        expect(reportValues(await cb.withActor({ userId: ben }).chat.usage(query)), groupBy).toEqual(
          await ledger(query, [benConv, shared]),
        );
        expect(await cb.withActor({ userId: cleo }).chat.usage(query), groupBy).toEqual([]);
      }
    } finally {
      await setRowSecurity(true);
    }
    const participant = { ...range, groupBy: 'model' as const, userId: ben, conversationId: shared };
    const mine = await cb.withActor({ userId: ben }).chat.usage(participant);
    expect(mine.length).toBeGreaterThan(0);
    expect(reportValues(mine)).toEqual(await ledger(participant));
  });

  it('keeps the usage ledger through retention, and erases a data subject under rls', async () => {
    const before = await ledger({ ...range, groupBy: 'model' });
    await cb.chat.applyRetention({ olderThanDays: 1 });
    expect(await ledger({ ...range, groupBy: 'model' })).toEqual(before);
    await cb.withActor({ userId: cleo }).users.erase(ben);
    await rawTransaction(database.ownerUrl, async (owner) => {
      expect(await count(owner, 'chat_usage', 'user_id = $1', [ben])).toBe(0);
      expect(await count(owner, 'chat_usage_daily', 'user_id = $1', [ben])).toBe(0);
      // Ben's calls in Ana's shared conversation are Ana's records (the conversation's owner).
      expect(await count(owner, 'chat_usage', 'user_id = $1', [ana])).toBe(6);
    });
    await expectAdminReportExact();
    await cb.chat.refreshUsageRollups();
    await rollupsMatchLedger();
    await expectAdminReportExact();
  });
});

describe.skipIf(pgbouncerMissing !== undefined)(
  'chat usage rollups under row-level security behind PgBouncer (transaction mode)',
  () => {
    let setup: RlsBehindPgBouncer;
    let database: TestDatabase;
    let cb: Carebase;
    const today = Math.floor(Date.now() / DAY) * DAY;
    let nowMs = Date.now();
    const clock = { now: () => new Date(nowMs) };

    beforeAll(async () => {
      setup = await startRlsBehindPgBouncer();
      ({ database } = setup);
      cb = createCarebase({
        connectionString: setup.url,
        pooler: 'transaction',
        rls: true,
        clock,
        pool: { max: 6 },
        analytics: { rollupSettleMs: 0, autoRefreshIntervalMs: 0 },
      });
    }, 120_000);

    afterAll(async () => {
      await cb?.close();
      await setup?.stop();
    });

    it("rolls up every user's usage and leaves no setting on the server connections", async () => {
      const users = await Promise.all(Array.from({ length: 4 }, (_, i) => newUser(database.db, `p${i}`)));
      nowMs = today - 2 * DAY + 3_600_000;
      try {
        await Promise.all(
          users.map((userId) =>
            cb.withActor({ userId }).chat.append({
              userId,
              role: 'assistant',
              content: 'answer',
              usage: { provider: 'p', model: 'gpt-x', inputTokens: 7, status: 'ok' },
            }),
          ),
        );
      } finally {
        nowMs = Date.now();
      }
      expect((await cb.chat.refreshUsageRollups()).daysRefreshed).toBeGreaterThanOrEqual(2);
      const query = { from: new Date(today - 3 * DAY), to: new Date(today + DAY), groupBy: 'user' as const };
      const reports = await Promise.all(Array.from({ length: 6 }, () => cb.chat.usage(query)));
      for (const report of reports) {
        expect(report.map((row) => row.key).sort()).toEqual([...users].sort());
        expect(report.every((row) => row.calls === 1 && row.inputTokens === 7)).toBe(true);
      }
      const mine = await cb.withActor({ userId: users[0] }).chat.usage(query);
      expect(mine.map((row) => row.key)).toEqual([users[0]]);
      await rawTransaction(setup.url, async (app) => {
        const { rows } = await app.query<{ user: string | null; scope: string | null }>(
          "select current_setting('carebase.actor_user_id', true) as user, current_setting('carebase.system_scope', true) as scope",
        );
        expect(rows[0]?.user ?? '').toBe('');
        expect(rows[0]?.scope ?? '').toBe('');
        expect(await count(app, 'chat_usage')).toBe(0);
        expect(await count(app, 'chat_usage_daily')).toBe(0);
      });
    });
  },
);
