import { createCarebase, ValidationError } from 'carebase';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;
let userId: string;
let conversationId: string;
let seeded: string[];

const TOTAL = 50_000;

beforeAll(async () => {
  f = await chatFixture({ chat: { maxPageSize: 1000 } });
  userId = await f.user();
  conversationId = (await f.cb.chat.createConversation({ userId })).id;
  // 50k messages in one statement: 100 share each millisecond, ids run against time (later ids
  // get earlier timestamps), and a few microsecond offsets make sure cursors keep full precision.
  await sql`
    insert into ${sql.id(f.cb.config.schema, 'chat_messages')} (user_id, conversation_id, role, content, created_at)
    select ${userId}::uuid, ${conversationId}::uuid, 'user', 'message ' || i,
      timestamptz '2026-01-01 00:00:00+00' + ((${TOTAL} - i) / 100) * interval '1 millisecond'
        + (i % 3) * interval '1 microsecond'
    from generate_series(1, ${TOTAL}) as i`.execute(f.cb.db);
  const rows = await f.cb.db
    .selectFrom('chat_messages')
    .select('id')
    .where('conversation_id', '=', conversationId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  seeded = rows.map((row) => row.id);
}, 120_000);

afterAll(async () => {
  await f?.close();
});

async function walk(
  order: 'asc' | 'desc',
  limit: number,
  during?: () => Promise<unknown>,
): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await f.cb.chat.history({
      userId,
      conversationId,
      limit,
      order,
      ...(cursor ? { cursor } : {}),
    });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    for (const message of page.items) seen.push(message.id);
    cursor = page.nextCursor;
    await during?.();
  } while (cursor !== undefined);
  return seen;
}

describe('cb.chat.history', () => {
  it('returns every pre-existing message exactly once, in order, while another client appends', async () => {
    let appended = 0;
    let stop = false;
    // Another client (its own instance and pool) appends as fast as it can while we page.
    await using other = createCarebase({ connectionString: f.database.url, pool: { max: 2 } });
    const writer = (async () => {
      while (!stop) {
        await other.chat.appendMany(
          Array.from({ length: 20 }, (_, i) => ({
            userId,
            conversationId,
            role: 'user' as const,
            content: `live ${i}`,
          })),
        );
        appended += 20;
      }
    })();
    const seen = await walk('asc', 997);
    stop = true;
    await writer;
    expect(appended).toBeGreaterThan(0);
    const counts = new Map<string, number>();
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
    const missing = seeded.filter((id) => counts.get(id) !== 1);
    expect(missing).toEqual([]);
    // Pre-existing messages come in exactly the (created_at, id) order.
    const seededSet = new Set(seeded);
    expect(seen.filter((id) => seededSet.has(id))).toEqual(seeded);
  }, 120_000);

  it('pages newest first with order desc, exactly once each', async () => {
    const seen = await walk('desc', 1000);
    const seededSet = new Set(seeded);
    const pre = seen.filter((id) => seededSet.has(id));
    expect(pre).toEqual([...seeded].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  }, 120_000);

  it('supports offset paging for the seed API (same order as the keyset walk)', async () => {
    const page = await f.cb.chat.history({ userId, conversationId, limit: 5, offset: 10 });
    expect(page.items.map((m) => m.id)).toEqual(seeded.slice(10, 15));
    await expect(
      f.cb.chat.history({ userId, conversationId, offset: 1, cursor: page.nextCursor ?? 'x' }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects forged or mismatched cursors with ValidationError', async () => {
    const asc = await f.cb.chat.history({ userId, conversationId, limit: 2 });
    const cursor = asc.nextCursor as string;
    await expect(f.cb.chat.history({ userId, conversationId, cursor, order: 'desc' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const forged = Buffer.from(JSON.stringify([1, 'history-asc', "2026'; drop table x", '1'])).toString(
      'base64url',
    );
    await expect(f.cb.chat.history({ userId, conversationId, cursor: forged })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(f.cb.chat.history({ userId, conversationId, limit: 1001 })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('cb.chat.latest', () => {
  it('returns the newest n messages in chronological order', async () => {
    const other = await f.user();
    for (let i = 0; i < 30; i++) await f.cb.chat.append({ userId: other, role: 'user', content: `n${i}` });
    const latest = await f.cb.chat.latest({ userId: other, n: 5 });
    expect(latest.map((m) => m.content)).toEqual(['n25', 'n26', 'n27', 'n28', 'n29']);
    expect(await f.cb.chat.latest({ userId: await f.user(), n: 5 })).toEqual([]);
  });

  it('reads only n rows: a limited backward index scan', async () => {
    const { rows } = await sql<{ 'QUERY PLAN': unknown }>`explain (analyze, format json)
      select id from ${sql.id(f.cb.config.schema, 'chat_messages')}
      where user_id = ${userId} and conversation_id = ${conversationId}
      order by created_at desc, id desc limit 20`.execute(f.cb.db);
    const plan = JSON.stringify(rows[0]);
    expect(plan).toContain('chat_messages_history_idx');
    expect(plan).toContain('"Actual Rows":20');
  });
});
