import {
  type ChatUsageQuery,
  createCarebase,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from 'carebase';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';
import { ledgerReport, reportValues, USAGE_GROUPS } from '../support/chat-usage.js';

/**
 * The usage rollups: `usage()` reads whole rolled-up UTC days from the rollups and the rest from the
 * ledger, and must equal one raw SUM/GROUP BY over the ledger before a refresh, after it, with
 * today's open tail, after a replayed append into a closed day and after an erasure.
 */
let f: ChatFixture;
let owner: pg.Client;
let schema: string;
let alice: string;
let bob: string;
let carol: string;
let stranger: string;
let shared: string;
let bobs: string;
let carols: string;

const DAY = 86_400_000;

beforeAll(async () => {
  // No settle window: a run just after midnight UTC rolls up the day that just closed, as the
  // assertions on dirty marks expect (with the default 10 minutes it stays unrolled until 00:10).
  f = await chatFixture({ analytics: { autoRefreshIntervalMs: 0, rollupSettleMs: 0 } });
  schema = f.cb.config.schema;
  owner = new pg.Client({ connectionString: f.database.ownerUrl });
  owner.on('error', () => undefined);
  await owner.connect();
  [alice, bob, carol, stranger] = [await f.user(), await f.user(), await f.user(), await f.user()];
  shared = (await f.cb.chat.createConversation({ userId: alice })).id;
  await f.cb.chat.addParticipant({
    userId: alice,
    conversationId: shared,
    participantId: bob,
    role: 'member',
  });
  bobs = (await f.cb.chat.createConversation({ userId: bob })).id;
  await f.cb.chat.addParticipant({ userId: bob, conversationId: bobs, participantId: alice, role: 'viewer' });
  carols = (await f.cb.chat.createConversation({ userId: carol })).id;
  // 6,000 calls over the last ~7 days (ending now): three currencies and none, three statuses,
  // costs with 12 decimals, several owners, conversations and authors.
  const calls = [
    [alice, shared, alice],
    [alice, shared, bob],
    [bob, bobs, bob],
    [bob, bobs, alice],
    [carol, carols, carol],
  ];
  await owner.query(
    `insert into "${schema}".chat_usage (user_id, conversation_id, message_id, author_user_id, provider, model,
       input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost, currency, status, created_at)
     select ($1::uuid[])[1 + i % 5], ($2::uuid[])[1 + i % 5], 1000000 + i, ($3::uuid[])[1 + i % 5], 'p',
       (array['gpt-5', 'claude', 'llama'])[1 + i % 3], 1000 + i, 7 * i, i % 11, i % 5,
       case when i % 4 = 3 then null else 0.01 + i * 0.000000000123 end,
       case when i % 4 = 3 then null when i % 4 = 1 then 'EUR' when i % 8 = 2 then 'GBP' else 'USD' end,
       (array['ok', 'ok', 'ok', 'error', 'aborted'])[1 + i % 7 % 5], now() - i * interval '97 seconds'
     from generate_series(1, 6000) i`,
    [calls.map((c) => c[0]), calls.map((c) => c[1]), calls.map((c) => c[2])],
  );
});

afterAll(async () => {
  await owner?.end();
  await f?.close();
});

/** One raw GROUP BY over the ledger, as the owner: the reference. */
function raw(query: ChatUsageQuery): Promise<unknown[]> {
  return ledgerReport(owner, schema, query);
}

/** Every grouping, with and without filters, over a whole range and over one with ragged edges. */
async function expectExact(): Promise<void> {
  const now = Date.now();
  const ranges = [
    { from: new Date(now - 9 * DAY), to: new Date(now + DAY) },
    { from: new Date(now - 3.5 * DAY), to: new Date(now - 1.2 * DAY) },
  ];
  const filters: Partial<ChatUsageQuery>[] = [
    {},
    { model: 'claude' },
    { userId: alice },
    { conversationId: bobs },
    { userId: bob, conversationId: shared, model: 'gpt-5' },
  ];
  for (const range of ranges) {
    for (const filter of filters) {
      for (const groupBy of USAGE_GROUPS) {
        const query = { ...range, ...filter, groupBy };
        expect(reportValues(await f.cb.chat.usage(query)), JSON.stringify(query)).toEqual(await raw(query));
      }
    }
  }
}

async function count(table: string): Promise<number> {
  const { rows } = await owner.query<{ n: number }>(`select count(*)::int as n from "${schema}".${table}`);
  return rows[0]?.n ?? 0;
}

describe('chat usage rollups', () => {
  it('usage() equals a raw GROUP BY before any refresh (all from the ledger)', async () => {
    expect(await count('chat_usage_daily')).toBe(0);
    await expectExact();
  });

  it('refreshUsageRollups rolls up the closed days; usage() stays exact and reads them from the rollups', async () => {
    const first = await f.cb.chat.refreshUsageRollups();
    expect(first.daysRefreshed).toBeGreaterThanOrEqual(6);
    expect(first.rolledUpTo.getTime() % DAY).toBe(0);
    expect(await count('chat_usage_daily')).toBeGreaterThan(0);
    expect(await count('chat_usage_daily_totals')).toBeGreaterThan(0);
    expect((await f.cb.chat.refreshUsageRollups()).daysRefreshed).toBe(0);
    await expectExact();
    // Proof that closed days come from the rollups: a wrong rollup row shows in usage(), both
    // for the unfiltered report (day totals) and for a conversation's (per-owner rollup).
    const range = { from: new Date(Date.now() - 9 * DAY), to: new Date(Date.now() + DAY) };
    const before = await f.cb.chat.usage({ ...range, groupBy: 'model' });
    const beforeConversation = await f.cb.chat.usage({ ...range, conversationId: bobs, groupBy: 'day' });
    await owner.query(`update "${schema}".chat_usage_daily_totals set calls = calls + 1000`);
    await owner.query(`update "${schema}".chat_usage_daily set calls = calls + 1000`);
    try {
      expect(await f.cb.chat.usage({ ...range, groupBy: 'model' })).not.toEqual(before);
      expect(await f.cb.chat.usage({ ...range, conversationId: bobs, groupBy: 'day' })).not.toEqual(
        beforeConversation,
      );
    } finally {
      await owner.query(`update "${schema}".chat_usage_daily_totals set calls = calls - 1000`);
      await owner.query(`update "${schema}".chat_usage_daily set calls = calls - 1000`);
    }
    expect(await f.cb.chat.usage({ ...range, groupBy: 'model' })).toEqual(before);
  });

  it("today's appends (the open tail) are counted from the ledger", async () => {
    for (let i = 0; i < 5; i++) {
      await f.cb.chat.append({
        userId: i % 2 === 0 ? alice : bob,
        conversationId: shared,
        role: 'assistant',
        content: `answer ${i}`,
        usage: {
          provider: 'p',
          model: 'gpt-5',
          outputTokens: 11 * i,
          cost: '0.123456789012',
          currency: 'JPY',
          status: 'ok',
        },
      });
    }
    expect(await count('chat_usage_rollup_dirty')).toBe(0);
    await expectExact();
  });

  it('a replayed append whose message lies in a rolled-up day marks that day dirty; usage() stays exact', async () => {
    // A message of three days ago with a client id, then a batch append retried with that id and
    // usage (the batch path writes the usage of a replayed message that has none; a single append's
    // usage rides in its insert statement, for a new row only, and lands today).
    const old = new Date(Date.now() - 3 * DAY);
    const { rows } = await owner.query<{ id: string }>(
      `insert into "${schema}".chat_messages (user_id, conversation_id, client_id, role, content, created_at)
       values ($1, $2, 'retried-1', 'assistant', 'late answer', $3) returning id`,
      [alice, shared, old],
    );
    const [message] = await f.cb.chat.appendMany([
      {
        userId: alice,
        conversationId: shared,
        id: 'retried-1',
        role: 'assistant',
        content: 'late answer',
        usage: {
          provider: 'p',
          model: 'llama',
          inputTokens: 5,
          cost: '1.5',
          currency: 'USD',
          status: 'error',
        },
      },
      // A second message, so the batch path runs (one message takes the single-append statement).
      { userId: alice, conversationId: shared, role: 'user', content: 'thanks' },
    ]);
    expect(message?.id).toBe(rows[0]?.id);
    await expectExact();
    const dirty = await owner.query<{ day: Date }>(`select day from "${schema}".chat_usage_rollup_dirty`);
    expect(dirty.rows.map((r) => r.day.getTime())).toEqual([Math.floor(old.getTime() / DAY) * DAY]);
    expect((await f.cb.chat.refreshUsageRollups()).daysRefreshed).toBe(1);
    expect(await count('chat_usage_rollup_dirty')).toBe(0);
    await expectExact();
  });

  it('a single append written behind a skewed clock, into a rolled-up day, marks that day dirty', async () => {
    // Another instance whose clock is two days behind: its append (one statement, usage included)
    // lands in a day the rollups already hold, so the statement marks the day dirty itself.
    const behind = new Date(Date.now() - 2 * DAY);
    const skewed = createCarebase({
      connectionString: f.database.url,
      schema,
      pool: { max: 1 },
      clock: { now: () => new Date(behind) },
      analytics: { autoRefreshIntervalMs: 0 },
    });
    try {
      expect(await count('chat_usage_rollup_dirty')).toBe(0);
      await skewed.chat.append({
        userId: alice,
        conversationId: shared,
        role: 'assistant',
        content: 'answer from a slow clock',
        usage: { provider: 'p', model: 'gpt-5', outputTokens: 7, cost: '0.5', currency: 'USD', status: 'ok' },
      });
    } finally {
      await skewed.close();
    }
    const dirty = await owner.query<{ day: Date }>(`select day from "${schema}".chat_usage_rollup_dirty`);
    expect(dirty.rows.map((r) => r.day.getTime())).toEqual([Math.floor(behind.getTime() / DAY) * DAY]);
    await expectExact();
    expect((await f.cb.chat.refreshUsageRollups()).daysRefreshed).toBe(1);
    await expectExact();
  });

  it('erasing an owner removes their ledger and rollup rows; usage() stays exact before and after the refresh', async () => {
    const carolsRows = async () =>
      (await owner.query(`select 1 from "${schema}".chat_usage_daily where user_id = $1`, [carol])).rowCount;
    expect(await carolsRows()).toBeGreaterThan(0);
    await f.cb.users.erase(carol);
    await expectExact();
    expect(await carolsRows()).toBe(0);
    expect(await count('chat_usage_rollup_dirty')).toBeGreaterThanOrEqual(6);
    await f.cb.chat.refreshUsageRollups();
    expect(await count('chat_usage_rollup_dirty')).toBe(0);
    await expectExact();
    const totals = await owner.query(
      `select sum(calls)::int as calls from "${schema}".chat_usage_daily_totals`,
    );
    const daily = await owner.query(`select sum(calls)::int as calls from "${schema}".chat_usage_daily`);
    expect(totals.rows[0]).toEqual(daily.rows[0]);
  });

  it('a user with a conversation must be its participant: ForbiddenError (NotFoundError for none) before any sum', async () => {
    const range = {
      from: new Date(Date.now() - DAY),
      to: new Date(Date.now() + DAY),
      groupBy: 'day' as const,
    };
    await expect(
      f.cb.chat.usage({ ...range, userId: stranger, conversationId: shared }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      f.cb.chat.usage({ ...range, userId: alice, conversationId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    // A viewer may read the usage of the conversation.
    expect(await f.cb.chat.usage({ ...range, userId: alice, conversationId: bobs })).toBeInstanceOf(Array);
  });

  it('refuses a bad range before any SQL', async () => {
    const at = new Date();
    const bad: unknown[] = [
      { from: at, to: at, groupBy: 'day' },
      { from: new Date(at.getTime() + 1), to: at, groupBy: 'day' },
      { from: new Date(at.getTime() - 3661 * DAY), to: at, groupBy: 'day' },
      { from: new Date(Number.NaN), to: at, groupBy: 'day' },
      { from: at, to: new Date(at.getTime() + DAY), groupBy: 'week' },
      { from: at, to: new Date(at.getTime() + DAY), groupBy: 'day', conversationId: 'nope' },
    ];
    for (const query of bad) {
      await expect(f.cb.chat.usage(query as ChatUsageQuery)).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
