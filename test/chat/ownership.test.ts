import { ForbiddenError, NotFoundError } from 'carebase';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;
let alice: string;
let mallory: string;
let conversationId: string;

beforeAll(async () => {
  f = await chatFixture();
  alice = await f.user();
  mallory = await f.user();
  conversationId = (await f.cb.chat.createConversation({ userId: alice, title: 'private' })).id;
  await f.cb.chat.append({ userId: alice, conversationId, role: 'user', content: 'secret insulin plan' });
});

afterAll(async () => {
  await f?.close();
});

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

const UNKNOWN = '00000000-0000-4000-8000-000000000001';

/** Every method that takes a conversation id, called by `userId` on `id`. */
function calls(userId: string, id: string): [string, () => Promise<unknown>][] {
  return [
    ['getConversation', () => f.cb.chat.getConversation({ userId, conversationId: id })],
    ['renameConversation', () => f.cb.chat.renameConversation({ userId, conversationId: id, title: 'x' })],
    ['deleteConversation', () => f.cb.chat.deleteConversation({ userId, conversationId: id })],
    ['append', () => f.cb.chat.append({ userId, conversationId: id, role: 'user', content: 'x' })],
    [
      'append with id',
      () => f.cb.chat.append({ userId, conversationId: id, role: 'user', content: 'x', id: 'c1' }),
    ],
    ['appendMany', () => f.cb.chat.appendMany([{ userId, conversationId: id, role: 'user', content: 'x' }])],
    ['history', () => f.cb.chat.history({ userId, conversationId: id })],
    ['history desc', () => f.cb.chat.history({ userId, conversationId: id, order: 'desc' })],
    ['history offset', () => f.cb.chat.history({ userId, conversationId: id, offset: 0 })],
    ['latest', () => f.cb.chat.latest({ userId, conversationId: id, n: 5 })],
    ['search', () => f.cb.chat.search({ userId, conversationId: id, query: 'insulin' })],
    ['clear', () => f.cb.chat.clear({ userId, conversationId: id })],
    ['export jsonl', () => drain(f.cb.chat.export({ userId, conversationId: id, format: 'jsonl' }))],
    ['export csv', () => drain(f.cb.chat.export({ userId, conversationId: id, format: 'csv' }))],
  ];
}

describe('chat ownership', () => {
  it.each(calls('', '').map(([name]) => name))(
    "%s on another user's conversation throws ForbiddenError and changes nothing",
    async (name) => {
      const call = calls(mallory, conversationId).find(([n]) => n === name)?.[1];
      const error = await (call as () => Promise<unknown>)().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as Error).message).not.toContain('insulin');
      const rows = await f.cb.db
        .selectFrom('chat_messages')
        .select(['content'])
        .where('conversation_id', '=', conversationId)
        .execute();
      expect(rows.map((r) => r.content)).toEqual(['secret insulin plan']);
      const conversation = await f.cb.chat.getConversation({ userId: alice, conversationId });
      expect(conversation.title).toBe('private');
    },
  );

  it.each(calls('', '').map(([name]) => name))(
    '%s on an unknown conversation throws NotFoundError',
    async (name) => {
      const call = calls(alice, UNKNOWN).find(([n]) => n === name)?.[1];
      await expect((call as () => Promise<unknown>)()).rejects.toBeInstanceOf(NotFoundError);
    },
  );

  it("search and history without a conversation id never return another user's messages", async () => {
    expect((await f.cb.chat.search({ userId: mallory, query: 'insulin' })).items).toEqual([]);
    expect((await f.cb.chat.history({ userId: mallory })).items).toEqual([]);
    expect((await f.cb.chat.listConversations({ userId: mallory })).items).toEqual([]);
    const exported = await drain(f.cb.chat.export({ userId: mallory, format: 'jsonl' }));
    expect(exported).not.toContain('insulin');
    expect(await f.cb.chat.clear({ userId: mallory })).toBe(0);
  });

  it('the database itself refuses a message whose user does not own the conversation', async () => {
    const error = await sql`insert into ${sql.id(f.cb.config.schema, 'chat_messages')}
      (user_id, conversation_id, role, content) values (${mallory}, ${conversationId}, 'user', 'x')`
      .execute(f.cb.db)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONSTRAINT_VIOLATION', kind: 'foreign_key' });
  });
});
