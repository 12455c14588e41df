import { ChatAppendInputSchema } from 'carebase/schemas';
import { describe, expect, it } from 'vitest';
import { quickChatAppend } from '../../src/repositories/chat/chat-inputs.js';
import { quickParseCheck } from '../support/quick-parse.js';

/**
 * `quickChatAppend` parses plainly valid `chat.append` messages without zod. It must accept nothing
 * `ChatAppendInputSchema` refuses and return what the schema returns; it may decline anything
 * (the schema then parses).
 */
const BASE = {
  userId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  conversationId: '0b9e6679-7425-40de-944b-e07fc1f90ae7',
  role: 'assistant',
  content: 'Take 5 mg twice a day.',
};

const s = (n: number, c = 'a') => c.repeat(n);
const VARIANTS: Record<string, unknown[]> = {
  userId: [
    '00000000-0000-0000-0000-000000000000',
    '7c9e6679-7425-00de-944b-e07fc1f90ae7',
    'x',
    '',
    null,
    1,
    undefined,
  ],
  conversationId: ['ffffffff-ffff-ffff-ffff-ffffffffffff', 'nope', null, undefined],
  role: ['user', 'assistant', 'system', 'tool', 'bot', '', undefined, null],
  content: [
    '',
    'x',
    s(100_000),
    'nul \u0000 inside',
    'lone \ud800 surrogate',
    'pair \ud83d\ude00 ok',
    5,
    null,
    undefined,
  ],
  metadata: [
    {},
    { model: 'small', tokens: 3 },
    { at: new Date(0) },
    [],
    'm',
    null,
    undefined,
    { n: Number.POSITIVE_INFINITY },
  ],
  id: ['r', s(200), s(201), '', 'a\u0000b', 7, undefined],
  pinned: [true, false, 'yes', 0, undefined],
  parts: [[{ type: 'text', text: 'hi' }], undefined],
  parentId: ['42', undefined],
  usage: [{ model: 'small', inputTokens: 1, outputTokens: 2 }, undefined],
  extra: ['x', undefined],
};

const { check, fieldByField, combinations } = quickParseCheck(quickChatAppend, ChatAppendInputSchema);

describe('quickChatAppend', () => {
  it('accepts a typical message, returning what the schema returns', () => {
    expect(check(BASE)).toBe('quick');
    expect(check({ userId: BASE.userId, role: 'user', content: 'hello' })).toBe('quick');
    expect(check({ ...BASE, id: 'req-1', metadata: { model: 'small' }, pinned: false })).toBe('quick');
  });

  it('accepts nothing the schema refuses, field by field', () => {
    const counts = fieldByField(BASE, VARIANTS);
    expect(counts.quick).toBeGreaterThan(20);
    expect(counts.declined).toBeGreaterThan(25);
  });

  it('accepts nothing the schema refuses, in random combinations', () => {
    const counts = combinations(BASE, VARIANTS, 3000, 0.8);
    expect(counts.quick).toBeGreaterThan(10);
  });

  it('leaves parts, usage, a parent and a missing content to the schema', () => {
    for (const input of [
      { ...BASE, parts: [{ type: 'text', text: 'hi' }] },
      { ...BASE, parentId: '42' },
      { ...BASE, role: 'assistant', usage: { model: 'small', inputTokens: 1, outputTokens: 2 } },
      { userId: BASE.userId, role: 'user' },
    ]) {
      expect(check(input)).toBe('declined');
    }
  });
});
