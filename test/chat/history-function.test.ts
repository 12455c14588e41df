import { type Carebase, type ChatMessage, createCarebase, ForbiddenError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * Behind a transaction pooler `chat.history` pages come from the `chat_history_page` function
 * (migration 0046) instead of named prepared statements. Both forms must return the same pages,
 * field for field (a column added to one and not the other fails `toStrictEqual`), through every
 * cursor, for owners, participants and strangers. One database, two instances as the app role:
 * one direct, one in pooler mode (test/pool/pooler.test.ts runs it through a real PgBouncer).
 */
let f: ChatFixture;
let pooled: Carebase;
let alice: string;
let bob: string;
let stranger: string;
let shared: string;
const statements: string[] = [];

beforeAll(async () => {
  f = await chatFixture();
  pooled = createCarebase({
    connectionString: f.database.url,
    pooler: 'transaction',
    onQuery: (event) => {
      statements.push(event.sql);
    },
  });
  [alice, bob, stranger] = [await f.user(), await f.user(), await f.user()];
  shared = (await f.cb.chat.createConversation({ userId: alice, title: 'ward 3' })).id;
  await f.cb.chat.addParticipant({
    userId: alice,
    conversationId: shared,
    participantId: bob,
    role: 'member',
  });
  // Same-millisecond rows too (appendMany), so the id breaks ties in the keyset.
  await f.cb.chat.appendMany(
    Array.from({ length: 23 }, (_, i) => ({
      userId: i % 3 === 0 ? bob : alice,
      conversationId: shared,
      role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: `shared ${i}`,
      metadata: i % 5 === 0 ? { n: i } : undefined,
    })),
  );
  for (let i = 0; i < 12; i++)
    await f.cb.chat.append({ userId: alice, role: 'user', content: `default ${i}` });
});

afterAll(async () => {
  await pooled?.close();
  await f?.close();
});

async function allPages(
  cb: Carebase,
  input: { userId: string; conversationId?: string; order?: 'asc' | 'desc'; limit: number },
): Promise<{ pages: (readonly ChatMessage[])[]; cursors: (string | undefined)[] }> {
  const pages: (readonly ChatMessage[])[] = [];
  const cursors: (string | undefined)[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 50; guard++) {
    const page = await cb.chat.history({ ...input, ...(cursor === undefined ? {} : { cursor }) });
    pages.push(page.items);
    cursors.push(page.nextCursor);
    cursor = page.nextCursor;
    if (cursor === undefined) break;
  }
  return { pages, cursors };
}

describe('chat_history_page (pooler mode) against the prepared statements (direct)', () => {
  it.each([
    { who: 'owner', order: 'asc' as const, limit: 5 },
    { who: 'owner', order: 'desc' as const, limit: 7 },
    { who: 'member', order: 'desc' as const, limit: 23 },
    { who: 'member', order: 'asc' as const, limit: 4 },
  ])(
    'returns the same pages of a shared conversation: $who, $order, $limit per page',
    async ({ who, order, limit }) => {
      const input = { userId: who === 'owner' ? alice : bob, conversationId: shared, order, limit };
      statements.length = 0;
      const viaFunction = await allPages(pooled, input);
      const direct = await allPages(f.cb, input);
      expect(viaFunction).toStrictEqual(direct);
      expect(direct.pages.flat()).toHaveLength(23);
      expect(statements.filter((sql) => /chat_history_page"?\(/.test(sql)).length).toBe(
        viaFunction.pages.length,
      );
    },
  );

  it('returns the same pages of the default conversation', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const direct = await allPages(f.cb, { userId: alice, order, limit: 5 });
      expect(await allPages(pooled, { userId: alice, order, limit: 5 })).toStrictEqual(direct);
      expect(direct.pages.flat().map((m) => m.content)).toHaveLength(12);
    }
  });

  it('a stranger gets FORBIDDEN, and a user without a default conversation an empty page', async () => {
    await expect(pooled.chat.history({ userId: stranger, conversationId: shared })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect((await pooled.chat.history({ userId: stranger })).items).toEqual([]);
  });
});
