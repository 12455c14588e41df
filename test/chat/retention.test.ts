// Internal by design: the users repository's exportData / erase call these.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseChatForUser, exportChatForUser } from '../../src/repositories/chat/data-subject.js';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;
let now = new Date('2025-01-01T00:00:00.000Z');

beforeAll(async () => {
  f = await chatFixture({ clock: { now: () => now } });
});

afterAll(async () => {
  await f?.close();
});

describe('cb.chat.clear', () => {
  it('deletes one conversation or all, returns the count and audits it', async () => {
    const userId = await f.user();
    const topic = await f.cb.chat.createConversation({ userId });
    await f.cb.chat.appendMany([
      { userId, role: 'user', content: 'a' },
      { userId, role: 'user', content: 'b' },
      { userId, conversationId: topic.id, role: 'user', content: 'c' },
    ]);
    expect(await f.cb.chat.clear({ userId, conversationId: topic.id })).toBe(1);
    expect(await f.cb.chat.clear({ userId })).toBe(2);
    expect(await f.cb.chat.clear({ userId })).toBe(0);
    const audit = await f.cb.db
      .selectFrom('audit_log')
      .select(['metadata'])
      .where('action', '=', 'chat.clear')
      .where('subject_id', '=', userId)
      .orderBy('id')
      .execute();
    expect(audit.map((row) => row.metadata)).toEqual([{ deleted: 1 }, { deleted: 2 }, { deleted: 0 }]);
    // Conversations stay.
    expect((await f.cb.chat.listConversations({ userId })).items).toHaveLength(2);
  });
});

describe('cb.chat.applyRetention', () => {
  it('deletes messages older than the cutoff (by the configured clock) and audits the count', async () => {
    const userId = await f.user();
    now = new Date('2025-01-01T00:00:00.000Z');
    await f.cb.chat.append({ userId, role: 'user', content: 'old' });
    now = new Date('2025-03-01T00:00:00.000Z');
    await f.cb.chat.append({ userId, role: 'user', content: 'recent' });
    now = new Date('2025-03-15T00:00:00.000Z');
    const deleted = await f.cb.chat.applyRetention({ olderThanDays: 30 });
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect((await f.cb.chat.history({ userId })).items.map((m) => m.content)).toEqual(['recent']);
    const audit = await f.cb.db
      .selectFrom('audit_log')
      .select(['metadata', 'resource_type'])
      .where('action', '=', 'chat.retention')
      .executeTakeFirstOrThrow();
    expect(audit.metadata).toMatchObject({ olderThanDays: 30, deleted, cutoff: '2025-02-13T00:00:00.000Z' });
  });
});

describe('data-subject export and erasure', () => {
  it('exports every conversation with its messages as JSON, then erases them with counts', async () => {
    const userId = await f.user();
    const other = await f.user();
    const topic = await f.cb.chat.createConversation({ userId, title: 'topic' });
    await f.cb.chat.appendMany([
      { userId, role: 'user', content: 'one' },
      { userId, conversationId: topic.id, role: 'assistant', content: 'two', metadata: { k: 1 } },
      { userId: other, role: 'user', content: 'not theirs' },
    ]);
    const data = await exportChatForUser(f.cb.context, userId);
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    expect(data.conversations).toHaveLength(2);
    const all = data.conversations.flatMap((c) => c.messages.map((m) => m.content)).sort();
    expect(all).toEqual(['one', 'two']);
    const counts = await eraseChatForUser(f.cb.context, userId);
    expect(counts).toEqual({ conversations: 2, messages: 2 });
    expect((await exportChatForUser(f.cb.context, userId)).conversations).toEqual([]);
    expect((await f.cb.chat.history({ userId: other })).items).toHaveLength(1);
  });
});
