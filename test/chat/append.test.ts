import { ConflictError, NotFoundError, ValidationError } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;

beforeAll(async () => {
  f = await chatFixture({ chat: { maxMessageBytes: 1000 } });
});

afterAll(async () => {
  await f?.close();
});

async function messageCount(userId: string): Promise<number> {
  const row = await f.cb.db
    .selectFrom('chat_messages')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return row.n;
}

describe('cb.chat.append', () => {
  it('appends to the default conversation, created on first use', async () => {
    const userId = await f.user();
    const first = await f.cb.chat.append({ userId, role: 'user', content: 'Hello' });
    const second = await f.cb.chat.append({
      userId,
      role: 'assistant',
      content: 'Hi',
      metadata: { model: 'x' },
    });
    expect(first.conversationId).toBe(second.conversationId);
    expect(second.metadata).toEqual({ model: 'x' });
    expect(BigInt(second.id)).toBeGreaterThan(BigInt(first.id));
    const conversations = await f.cb.db
      .selectFrom('conversations')
      .selectAll()
      .where('user_id', '=', userId)
      .execute();
    expect(conversations).toHaveLength(1);
    expect(conversations[0]?.is_default).toBe(true);
  });

  it('creates exactly one default conversation under concurrent first appends', async () => {
    const userId = await f.user();
    const messages = await Promise.all(
      Array.from({ length: 12 }, (_, i) => f.cb.chat.append({ userId, role: 'user', content: `m${i}` })),
    );
    expect(new Set(messages.map((m) => m.conversationId)).size).toBe(1);
    expect(await messageCount(userId)).toBe(12);
  });

  it('returns the same message for a retried client id, and refuses the id for other content', async () => {
    const userId = await f.user();
    const input = { userId, role: 'user' as const, content: 'dose?', id: 'req-1' };
    const first = await f.cb.chat.append(input);
    const again = await f.cb.chat.append(input);
    expect(again).toEqual(first);
    const concurrent = await Promise.all(
      Array.from({ length: 6 }, () => f.cb.chat.append({ ...input, id: 'req-2' })),
    );
    expect(new Set(concurrent.map((m) => m.id)).size).toBe(1);
    expect(await messageCount(userId)).toBe(2);
    await expect(f.cb.chat.append({ ...input, content: 'other' })).rejects.toBeInstanceOf(ConflictError);
    // The same client id is free for another user.
    const other = await f.user();
    const theirs = await f.cb.chat.append({ ...input, userId: other });
    expect(theirs.id).not.toBe(first.id);
  });

  it('stores SQL-looking text, quotes, emoji and non-Latin text verbatim', async () => {
    const userId = await f.user();
    const contents = [
      "'); DROP TABLE chat_messages; --",
      'Robert"); select pg_sleep(10); --',
      '$1 $$ \\x00 %s {{}} \\',
      'emoji 👩‍⚕️ and 漢字 and עברית',
      '   leading and trailing   \n\t',
      '',
    ];
    for (const content of contents) {
      const message = await f.cb.chat.append({ userId, role: 'user', content });
      const row = await f.cb.db
        .selectFrom('chat_messages')
        .select('content')
        .where('user_id', '=', userId)
        .where('id', '=', message.id)
        .executeTakeFirstOrThrow();
      expect(row.content).toBe(content);
      expect(message.content).toBe(content);
    }
  });

  it('refuses NUL characters, lone surrogates, unknown roles and oversize content before any SQL', async () => {
    const userId = await f.user();
    const bad = [
      { content: 'a\u0000b', field: 'content' },
      { content: 'broken \uD800 pair', field: 'content' },
      { content: 'lonely \uDC00', field: 'content' },
      { content: 'é'.repeat(501), field: 'content' }, // 1002 UTF-8 bytes > 1000
    ];
    for (const { content, field } of bad) {
      const error = await f.cb.chat.append({ userId, role: 'user', content }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
      expect((error as Error).message).not.toContain(content);
    }
    await expect(f.cb.chat.append({ userId, role: 'robot' as 'user', content: 'x' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      f.cb.chat.append({ userId, role: 'user', content: 'x', metadata: { note: 'a\u0000' } }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await messageCount(userId)).toBe(0);
    // Exactly at the limit is accepted.
    await f.cb.chat.append({ userId, role: 'user', content: 'é'.repeat(500) });
    expect(await messageCount(userId)).toBe(1);
  });

  it('reports an unknown user as NotFoundError', async () => {
    const error = await f.cb.chat
      .append({ userId: '00000000-0000-4000-8000-000000000000', role: 'user', content: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).resource).toBe('user');
  });
});

describe('cb.chat.appendMany', () => {
  it('creates the default conversations a batch needs, with their audit entries, atomically', async () => {
    const [carol, dave] = [await f.user(), await f.user()];
    const written = await f.cb.chat.appendMany([
      { userId: carol, role: 'user', content: 'c1' },
      { userId: dave, role: 'user', content: 'd1' },
      { userId: carol, role: 'assistant', content: 'c2' },
    ]);
    expect(written.map((m) => m.content)).toEqual(['c1', 'd1', 'c2']);
    expect(new Set(written.map((m) => m.conversationId)).size).toBe(2);
    for (const userId of [carol, dave]) {
      const { items } = await f.cb.audit.query({
        resourceType: 'conversation',
        action: 'chat.conversation_create',
      });
      expect(items.filter((entry) => entry.subjectId === userId)).toHaveLength(1);
    }
  });

  it('writes many messages for several users and conversations in one statement, in order', async () => {
    const alice = await f.user();
    const bob = await f.user();
    const topic = await f.cb.chat.createConversation({ userId: alice, title: 'topic' });
    // Their default conversations exist (a first append creates one, with its audit entry, in a
    // transaction of its own; see 'creates the default conversations ...' below).
    await f.cb.chat.appendMany([
      { userId: alice, role: 'system', content: 'start' },
      { userId: bob, role: 'system', content: 'start' },
    ]);
    let statements = 0;
    const input = [
      ...Array.from({ length: 50 }, (_, i) => ({ userId: alice, role: 'user' as const, content: `a${i}` })),
      ...Array.from({ length: 30 }, (_, i) => ({
        userId: alice,
        conversationId: topic.id,
        role: 'assistant' as const,
        content: `t${i}`,
        id: `t-${i}`,
      })),
      ...Array.from({ length: 20 }, (_, i) => ({ userId: bob, role: 'user' as const, content: `b${i}` })),
    ];
    // Count what reaches the driver (no mock: the real query runs). Only statements on the chat
    // tables count: background work of the same process (the audit sealer, pool set-up) may run
    // meanwhile on other connections.
    const original = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0];
      const text =
        typeof first === 'string' ? first : String((first as { text?: unknown } | null)?.text ?? '');
      if (/chat_messages|conversations/.test(text)) statements++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    let messages: Awaited<ReturnType<typeof f.cb.chat.appendMany>>;
    try {
      messages = await f.cb.chat.appendMany(input);
    } finally {
      pg.Client.prototype.query = original;
    }
    expect(statements).toBe(1);
    expect(messages.map((m) => m.content)).toEqual(input.map((m) => m.content));
    const history = await f.cb.chat.history({ userId: alice, limit: 100 });
    expect(history.items.map((m) => m.content)).toEqual([
      'start',
      ...input.slice(0, 50).map((m) => m.content),
    ]);
    const topicHistory = await f.cb.chat.history({ userId: alice, conversationId: topic.id, limit: 100 });
    expect(topicHistory.items.map((m) => m.content)).toEqual(input.slice(50, 80).map((m) => m.content));
    // Retrying the whole batch adds only the messages without client ids.
    const retried = await f.cb.chat.appendMany(input.slice(50, 80));
    expect(retried.map((m) => m.id)).toEqual(messages.slice(50, 80).map((m) => m.id));
  });

  it('is atomic: one bad conversation id writes nothing', async () => {
    const alice = await f.user();
    const bob = await f.user();
    const bobs = await f.cb.chat.createConversation({ userId: bob });
    await expect(
      f.cb.chat.appendMany([
        { userId: alice, role: 'user', content: 'fine' },
        { userId: alice, conversationId: bobs.id, role: 'user', content: 'not yours' },
      ]),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await messageCount(alice)).toBe(0);
    // Nor the default conversation the batch needed for alice (created in the same transaction).
    const conversations = await f.cb.db
      .selectFrom('conversations')
      .select('id')
      .where('user_id', '=', alice)
      .execute();
    expect(conversations).toEqual([]);
    const invalid = await f.cb.chat
      .appendMany([
        { userId: alice, role: 'user', content: 'ok' },
        { userId: alice, role: 'user', content: 'bad\u0000' },
      ])
      .catch((e: unknown) => e);
    expect((invalid as ValidationError).field).toBe('1.content');
    expect(await messageCount(alice)).toBe(0);
  });
});
