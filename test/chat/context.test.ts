import { type ChatMessage, ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * `chat.context`: the newest messages of the active branch that fit a token budget, oldest first,
 * always with the conversation's pinned system messages. Runs as the app role.
 */
let f: ChatFixture;
let owner: string;
let viewer: string;

beforeAll(async () => {
  f = await chatFixture();
  [owner, viewer] = [await f.user(), await f.user()];
});

afterAll(async () => {
  await f?.close();
});

async function conversation(): Promise<string> {
  const { id } = await f.cb.chat.createConversation({ userId: owner });
  await f.cb.chat.addParticipant({
    userId: owner,
    conversationId: id,
    participantId: viewer,
    role: 'viewer',
  });
  return id;
}

/** `chars` characters: ceil(chars / 4) + 4 tokens by the default estimate. */
function text(label: string, chars: number): string {
  return label.padEnd(chars, '.');
}

const contents = (messages: readonly ChatMessage[]) => messages.map((m) => m.content.replace(/\.+$/, ''));

describe('chat.context', () => {
  it('keeps the newest messages that fit, oldest first, with the default estimate', async () => {
    const id = await conversation();
    // Each message is 40 characters: 10 + 4 = 14 tokens.
    for (let i = 0; i < 10; i++) {
      await f.cb.chat.append({
        userId: owner,
        conversationId: id,
        role: i % 2 ? 'assistant' : 'user',
        content: text(`m${i}`, 40),
      });
    }
    const window = await f.cb.chat.context({ userId: viewer, conversationId: id, maxTokens: 50 });
    expect({
      messages: contents(window.messages),
      tokens: window.tokens,
      truncated: window.truncated,
    }).toEqual({
      messages: ['m7', 'm8', 'm9'],
      tokens: 42,
      truncated: true,
    });
    // The exact fit: 4 messages are 56 tokens.
    const exact = await f.cb.chat.context({ userId: owner, conversationId: id, maxTokens: 56 });
    expect({ messages: contents(exact.messages), tokens: exact.tokens }).toEqual({
      messages: ['m6', 'm7', 'm8', 'm9'],
      tokens: 56,
    });
    // Everything fits: not truncated.
    const all = await f.cb.chat.context({ userId: owner, conversationId: id, maxTokens: 1000 });
    expect({ n: all.messages.length, tokens: all.tokens, truncated: all.truncated }).toEqual({
      n: 10,
      tokens: 140,
      truncated: false,
    });
    // The host's counter: one token a message.
    const counted = await f.cb.chat.context({
      userId: owner,
      conversationId: id,
      maxTokens: 3,
      countTokens: () => 1,
    });
    expect({ messages: contents(counted.messages), tokens: counted.tokens }).toEqual({
      messages: ['m7', 'm8', 'm9'],
      tokens: 3,
    });
  });

  it('always includes pinned system messages and follows the active branch across path pages', async () => {
    const id = await conversation();
    await f.cb.chat.append({
      userId: owner,
      conversationId: id,
      role: 'system',
      content: 'You are a careful triage assistant',
      pinned: true,
    });
    await f.cb.chat.append({ userId: owner, conversationId: id, role: 'system', content: 'not pinned' });
    const messages: ChatMessage[] = [];
    for (let i = 0; i < 450; i++) {
      messages.push(
        await f.cb.chat.append({
          userId: owner,
          conversationId: id,
          role: i % 2 ? 'assistant' : 'user',
          content: `m${i}`,
        }),
      );
    }
    const edited = await f.cb.chat.edit({
      userId: owner,
      messageId: (messages[448] as ChatMessage).id,
      content: 'm448 edited',
    });
    const window = await f.cb.chat.context({
      userId: owner,
      conversationId: id,
      maxTokens: 10_000,
      countTokens: () => 1,
    });
    // The pinned message, then the branch up to the edit (the other branch's m448, m449 are out).
    expect(contents(window.messages)).toEqual([
      'You are a careful triage assistant',
      'not pinned',
      ...messages.slice(0, 448).map((m) => m.content),
      'm448 edited',
    ]);
    expect(window.tokens).toBe(451);
    expect(window.truncated).toBe(false);
    expect(window.messages.at(-1)?.id).toBe(edited.id);
    // A small budget: the pinned message stays (and counts), then the newest of the branch.
    const small = await f.cb.chat.context({
      userId: owner,
      conversationId: id,
      maxTokens: 3,
      countTokens: () => 1,
    });
    expect(contents(small.messages)).toEqual(['You are a careful triage assistant', 'm447', 'm448 edited']);
    expect(small.truncated).toBe(true);
    // Pinned messages alone over the budget: still included, and the total says so.
    const tiny = await f.cb.chat.context({
      userId: owner,
      conversationId: id,
      maxTokens: 1,
      countTokens: () => 5,
    });
    expect({ messages: contents(tiny.messages), tokens: tiny.tokens, truncated: tiny.truncated }).toEqual({
      messages: ['You are a careful triage assistant'],
      tokens: 5,
      truncated: true,
    });
    // Another leaf's branch.
    const other = await f.cb.chat.context({
      userId: owner,
      conversationId: id,
      leafId: (messages[449] as ChatMessage).id,
      maxTokens: 3,
      countTokens: () => 1,
    });
    expect(contents(other.messages)).toEqual(['You are a careful triage assistant', 'm448', 'm449']);
  });

  it('refuses bad input before any SQL: a budget that is not a positive integer, pinning a non-system message', async () => {
    const id = await conversation();
    for (const maxTokens of [0, -5, 1.5, Number.NaN]) {
      await expect(
        f.cb.chat.context({ userId: owner, conversationId: id, maxTokens }),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(
      f.cb.chat.context({ userId: owner, conversationId: id, maxTokens: 10, countTokens: 'words' as never }),
    ).rejects.toBeInstanceOf(ValidationError);
    await f.cb.chat.append({ userId: owner, conversationId: id, role: 'user', content: 'hello' });
    await expect(
      f.cb.chat.context({ userId: owner, conversationId: id, maxTokens: 10, countTokens: () => -1 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      f.cb.chat.append({ userId: owner, conversationId: id, role: 'user', content: 'x', pinned: true }),
    ).rejects.toBeInstanceOf(ValidationError);
    const { items } = await f.cb.chat.history({ userId: owner, conversationId: id });
    expect(items.map((m) => m.content)).toEqual(['hello']);
  });
});
