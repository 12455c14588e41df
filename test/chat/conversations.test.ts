import { type Conversation, createCarebase, NotFoundError, ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';
import { migrateSchemaForApp } from '../support/database.js';

let f: ChatFixture;
let now = new Date('2026-03-01T08:00:00.000Z');

beforeAll(async () => {
  f = await chatFixture({ clock: { now: () => now } });
});

afterAll(async () => {
  await f?.close();
});

function tick(ms = 1000): void {
  now = new Date(now.getTime() + ms);
}

async function auditRows(resourceId: string) {
  return f.cb.db
    .selectFrom('audit_log')
    .select(['action', 'resource_type', 'resource_id', 'subject_id', 'actor_user_id', 'metadata', 'changes'])
    .where('resource_id', '=', resourceId)
    .orderBy('id')
    .execute();
}

describe('conversations', () => {
  it('creates, renames and deletes with audit entries in the same transaction (no content in audit)', async () => {
    const userId = await f.user();
    const scoped = f.cb.withActor({ userId, ip: '10.0.0.7', requestId: 'req-9' });
    const created = await scoped.chat.createConversation({
      userId,
      title: 'Patient in bed 4',
      metadata: { ward: 3 },
    });
    expect(created).toMatchObject({
      userId,
      title: 'Patient in bed 4',
      isDefault: false,
      metadata: { ward: 3 },
    });
    const renamed = await scoped.chat.renameConversation({ userId, conversationId: created.id, title: null });
    expect(renamed.title).toBeNull();
    await scoped.chat.append({ userId, conversationId: created.id, role: 'user', content: 'hello' });
    await scoped.chat.deleteConversation({ userId, conversationId: created.id });
    await expect(f.cb.chat.getConversation({ userId, conversationId: created.id })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    const messages = await f.cb.db
      .selectFrom('chat_messages')
      .select('id')
      .where('user_id', '=', userId)
      .execute();
    expect(messages).toEqual([]);
    const audit = await auditRows(created.id);
    expect(audit.map((row) => row.action)).toEqual([
      'chat.conversation_create',
      'chat.conversation_rename',
      'chat.conversation_delete',
    ]);
    expect(audit.every((row) => row.actor_user_id === userId && row.subject_id === userId)).toBe(true);
    expect(JSON.stringify(audit)).not.toContain('bed 4');
  });

  it('leaves neither conversation nor audit entry when the transaction fails', async () => {
    const userId = await f.user();
    let id = '';
    await expect(
      f.cb.transaction(async (tx) => {
        id = (await tx.chat.createConversation({ userId, title: 'doomed' })).id;
        throw new Error('host failure');
      }),
    ).rejects.toThrow('host failure');
    expect(await auditRows(id)).toEqual([]);
    expect((await f.cb.chat.listConversations({ userId })).items).toEqual([]);
  });

  it('lists most recent activity first with a keyset cursor', async () => {
    const userId = await f.user();
    const made: Conversation[] = [];
    for (let i = 0; i < 7; i++) {
      tick();
      made.push(await f.cb.chat.createConversation({ userId, title: `c${i}` }));
    }
    tick();
    // Activity moves c2 to the front.
    await f.cb.chat.append({ userId, conversationId: made[2]?.id as string, role: 'user', content: 'x' });
    const titles: (string | null)[] = [];
    let cursor: string | undefined;
    do {
      const page = await f.cb.chat.listConversations({ userId, limit: 3, ...(cursor ? { cursor } : {}) });
      titles.push(...page.items.map((c) => c.title));
      cursor = page.nextCursor;
    } while (cursor);
    expect(titles).toEqual(['c2', 'c6', 'c5', 'c4', 'c3', 'c1', 'c0']);
  });

  it('validates input before SQL and reports an unknown user as NotFoundError', async () => {
    await expect(f.cb.chat.createConversation({ userId: 'not-a-uuid' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      f.cb.chat.createConversation({ userId: await f.user(), title: 'x'.repeat(501) }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      f.cb.chat.createConversation({ userId: '00000000-0000-4000-8000-000000000002' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', resource: 'user' });
  });

  it('cascades: deleting a user deletes their conversations and messages', async () => {
    const userId = await f.user();
    await f.cb.chat.append({ userId, role: 'user', content: 'bye' });
    await f.cb.db.deleteFrom('users').where('id', '=', userId).execute();
    const left = await f.cb.db
      .selectFrom('conversations')
      .select('id')
      .where('user_id', '=', userId)
      .execute();
    expect(left).toEqual([]);
  });

  it('works in a non-default schema', async () => {
    await migrateSchemaForApp(f.database, 'chat_alt');
    await using other = createCarebase({ connectionString: f.database.url, schema: 'chat_alt' });
    const row = await other.db
      .insertInto('users')
      .values({ username: 'alt', email: 'alt@example.org', password_hash: 'x', role: 'nurse' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await other.chat.append({ userId: row.id, role: 'user', content: 'in another schema' });
    const page = await other.chat.history({ userId: row.id });
    expect(page.items.map((m) => m.content)).toEqual(['in another schema']);
    expect((await other.chat.search({ userId: row.id, query: 'schema' })).items).toHaveLength(1);
  });
});
