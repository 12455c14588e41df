import { SEARCH_INDEX_CHARS } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;

beforeAll(async () => {
  f = await chatFixture({ chat: { maxMessageBytes: 5_000_000 } });
});

afterAll(async () => {
  await f?.close();
});

/**
 * About 1.6 MB of distinct words (the whole message's tsvector would exceed PostgreSQL's 1 MiB
 * limit), with a marker word near the start and another one past the indexed prefix.
 */
const words = Array.from({ length: 200_000 }, (_, i) => `w${i.toString(36)}x`);
words.splice(10, 0, 'firstpartmarker');
words.push('lastpartmarker');
const tooManyWords = words.join(' ');
/** 3 MB of one repeated word: large, but its tsvector is tiny. */
const largeButIndexable = 'insulin '.repeat(375_000);

/**
 * The worst case for the index prefix: 4-byte letters (CJK Extension B), two to a word, all
 * distinct, for the whole prefix (512 KiB of lexemes).
 */
function widestPrefix(): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < SEARCH_INDEX_CHARS + 1000; i++) {
    const word = String.fromCodePoint(0x20000 + (i % 42_000), 0x20000 + Math.floor(i / 42_000));
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ');
}

describe('messages larger than the full-text index can hold', () => {
  it('append: stored whole, words of the indexed first part are found, words past it are not', async () => {
    expect(tooManyWords.length).toBeGreaterThan(SEARCH_INDEX_CHARS);
    const userId = await f.user();
    const stored = await f.cb.chat.append({ userId, role: 'user' as const, content: tooManyWords });
    const [again] = (await f.cb.chat.history({ userId })).items;
    expect(again?.content).toBe(tooManyWords);
    expect(stored.content).toBe(tooManyWords);
    const found = await f.cb.chat.search({ userId, query: 'firstpartmarker' });
    expect(found.items.map((hit) => hit.message.id)).toEqual([stored.id]);
    expect(found.items[0]?.snippet).toContain('<b>firstpartmarker</b>');
    expect((await f.cb.chat.search({ userId, query: 'lastpartmarker' })).items).toHaveLength(0);
    // appendMany too, and large indexable content as before.
    const [many] = await f.cb.chat.appendMany([
      { userId, conversationId: stored.conversationId, role: 'assistant', content: widestPrefix() },
    ]);
    expect(many?.content.length).toBeGreaterThan(SEARCH_INDEX_CHARS);
    const big = await f.cb.chat.append({ userId, role: 'user' as const, content: largeButIndexable });
    expect(big.content.length).toBe(largeButIndexable.length);
    expect((await f.cb.chat.search({ userId, query: 'insulin' })).items.map((hit) => hit.message.id)).toEqual(
      [big.id],
    );
  });

  it('imports: every large message goes in whole and is searchable by its first part', async () => {
    const userId = await f.user();
    const conversation = await f.cb.chat.createConversation({ userId });
    const at = new Date('2025-01-02T03:04:05.000Z');
    const messages = [
      {
        externalId: 'a',
        conversationId: conversation.id,
        role: 'user' as const,
        content: 'small',
        createdAt: at,
      },
      {
        externalId: 'b',
        conversationId: conversation.id,
        role: 'user' as const,
        content: tooManyWords,
        createdAt: at,
      },
      {
        externalId: 'c',
        conversationId: conversation.id,
        role: 'user' as const,
        content: largeButIndexable,
        createdAt: at,
      },
      {
        externalId: 'd',
        conversationId: conversation.id,
        role: 'user' as const,
        content: widestPrefix(),
        createdAt: at,
      },
    ];
    const report = await f.cb.imports.messages({ source: 'big', messages });
    expect(report).toMatchObject({ read: 4, inserted: 4, alreadyPresent: 0, refused: [] });
    const history = await f.cb.chat.history({
      userId,
      conversationId: conversation.id,
      order: 'asc',
      limit: 10,
    });
    expect(history.items.map((m) => m.content)).toEqual(messages.map((m) => m.content));
    const found = await f.cb.chat.search({ userId, query: 'firstpartmarker' });
    expect(found.items).toHaveLength(1);
    expect(found.items[0]?.message.content).toBe(tooManyWords);
  });
});
