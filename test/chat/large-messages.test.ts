import { isCarebaseError, type ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;

beforeAll(async () => {
  f = await chatFixture({ chat: { maxMessageBytes: 5_000_000 } });
});

afterAll(async () => {
  await f?.close();
});

/** About 1.6 MB of distinct words: its tsvector would exceed PostgreSQL's 1 MiB limit. */
const tooManyWords = Array.from({ length: 200_000 }, (_, i) => `w${i.toString(36)}x`).join(' ');
/** 3 MB of one repeated word: large, but its tsvector is tiny. */
const largeButIndexable = 'insulin '.repeat(375_000);

describe('messages larger than the full-text index can hold', () => {
  it('append: a clear ValidationError at content (not a driver error), nothing written; large indexable content is stored and found', async () => {
    const userId = await f.user();
    const error = (await f.cb.chat
      .append({ userId, role: 'user', content: tooManyWords })
      .catch((e: unknown) => e)) as ValidationError;
    expect(isCarebaseError(error, 'VALIDATION_FAILED')).toBe(true);
    expect(error.field).toBe('content');
    expect((await f.cb.chat.history({ userId })).items).toHaveLength(0);
    const stored = await f.cb.chat.append({ userId, role: 'user', content: largeButIndexable });
    expect(stored.content.length).toBe(largeButIndexable.length);
    const found = await f.cb.chat.search({ userId, query: 'insulin' });
    expect(found.items.map((hit) => hit.message.id)).toEqual([stored.id]);
  });

  it('imports: the one message that does not fit is refused with its path; the rest of the batch goes in', async () => {
    const userId = await f.user();
    const conversation = await f.cb.chat.createConversation({ userId });
    const report = await f.cb.imports.messages({
      source: 'big',
      messages: [
        {
          externalId: 'a',
          conversationId: conversation.id,
          role: 'user',
          content: 'small',
          createdAt: new Date(),
        },
        {
          externalId: 'b',
          conversationId: conversation.id,
          role: 'user',
          content: tooManyWords,
          createdAt: new Date(),
        },
        {
          externalId: 'c',
          conversationId: conversation.id,
          role: 'user',
          content: largeButIndexable,
          createdAt: new Date(),
        },
      ],
    });
    expect(report).toMatchObject({ read: 3, inserted: 2, alreadyPresent: 0 });
    expect(report.refused.map((r) => [r.path, r.externalId])).toEqual([['messages[1].content', 'b']]);
  });
});
