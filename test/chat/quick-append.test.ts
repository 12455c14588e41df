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

/** An assistant turn as parts (no content) with its usage, as the AI SDK gives it. */
const TURN = {
  userId: BASE.userId,
  conversationId: BASE.conversationId,
  role: 'assistant',
  parts: [
    { type: 'reasoning', text: 'Dosed per kilogram: check the formulary.' },
    {
      type: 'tool-call',
      toolCallId: 'call_1',
      toolName: 'formulary',
      input: { drug: 'amoxicillin', kg: 20 },
    },
    { type: 'tool-result', toolCallId: 'call_1', output: { mgPerKgPerDay: 40 }, isError: false },
    { type: 'text', text: 'Give 800 mg a day, in three doses.', state: 'done' },
  ],
  usage: {
    provider: 'openai',
    model: 'gpt-5-mini',
    inputTokens: 812,
    cost: '0.0004',
    currency: 'USD',
    status: 'ok',
  },
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
  parts: [
    [{ type: 'text', text: 'hi' }],
    [],
    [{ type: 'text', text: 'a\u0000b' }],
    [{ type: 'text' }],
    [{ type: 'text', text: 'x', extra: 1 }],
    [{ type: 'text', text: 'x', state: 'done' }],
    [{ type: 'text', text: 'x', state: 'bogus' }],
    [{ type: 'text', text: 'x', state: undefined }],
    [{ type: 'reasoning', text: 'r', id: '' }],
    [{ type: 'reasoning', text: 'r', id: s(500) }],
    [{ type: 'reasoning', text: 'r', id: s(501) }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: { a: [1, 'x', null, true] } }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't' }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: undefined }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: { n: Number.POSITIVE_INFINITY } }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: null, dynamic: true }],
    [{ type: 'tool-call', toolCallId: '', toolName: 't', input: 1 }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: 5, title: s(1_000) }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: 5, title: s(1_001) }],
    [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: 5, providerExecuted: 'yes' }],
    [{ type: 'tool-result', toolCallId: 'c', output: 'ok', isError: false }],
    [{ type: 'tool-result', toolCallId: 'c', output: 'ok' }],
    [{ type: 'tool-result', toolCallId: 'c', output: { at: new Date(0) }, isError: true, preliminary: true }],
    [{ type: 'tool-result', toolCallId: 'c', output: 'ok', isError: false, preliminary: 'no' }],
    [{ type: 'tool-result', toolCallId: 'c', output: 'x\ud800', isError: false }],
    [{ type: 'text', text: 'x', providerMetadata: { openai: { id: 1 } } }],
    [{ type: 'file', mediaType: 'image/png', url: 'https://example.org/a.png' }],
    [{ type: 'step-start' }],
    [{ type: 'toString', text: 'x' }],
    [{ type: 'text', text: 'x' }, { type: 'reasoning', text: 'y' }, null],
    [null],
    ['text'],
    'text',
    {},
    [undefined],
    new Array(2),
    Array.from({ length: 10_000 }, () => ({ type: 'text', text: '' })),
    Array.from({ length: 10_001 }, () => ({ type: 'text', text: '' })),
    undefined,
  ],
  parentId: ['42', undefined],
  usage: [
    { provider: 'openai', model: 'small', status: 'ok' },
    {
      provider: 'openai',
      model: 'gpt-5-mini',
      inputTokens: 812,
      outputTokens: 96,
      cachedTokens: 0,
      reasoningTokens: 40,
      cost: '0.000394',
      currency: 'USD',
      latencyMs: 1830,
      status: 'error',
    },
    { provider: 'openai', model: 'small', status: 'ok', cost: '0.1' },
    { provider: 'openai', model: 'small', status: 'ok', currency: 'USD' },
    { provider: 'openai', model: 'small', status: 'ok', cost: '1', currency: 'usd' },
    { provider: 'openai', model: 'small', status: 'ok', cost: '1.', currency: 'USD' },
    { provider: 'openai', model: 'small', status: 'ok', cost: '1234567890123', currency: 'USD' },
    { provider: 'openai', model: 'small', status: 'ok', cost: '123456789012.123456789012', currency: 'EUR' },
    { provider: 'openai', model: 'small', status: 'ok', inputTokens: -1 },
    { provider: 'openai', model: 'small', status: 'ok', inputTokens: 1.5 },
    { provider: 'openai', model: 'small', status: 'ok', outputTokens: 2 ** 53 },
    { provider: 'openai', model: 'small', status: 'ok', latencyMs: 2 ** 31 - 1 },
    { provider: 'openai', model: 'small', status: 'ok', latencyMs: 2 ** 31 },
    { provider: 'openai', model: 'small', status: 'ok', latencyMs: Number.NaN },
    { provider: 'openai', model: 'small', status: 'fine' },
    { provider: '', model: 'small', status: 'ok' },
    { provider: s(100), model: s(200), status: 'aborted' },
    { provider: s(101), model: 'small', status: 'ok' },
    { provider: 'openai', model: 'small', status: 'ok', extra: 1 },
    { model: 'small', inputTokens: 1, outputTokens: 2 },
    null,
    'usage',
    undefined,
  ],
  extra: ['x', undefined],
};

const { check, fieldByField, combinations } = quickParseCheck(quickChatAppend, ChatAppendInputSchema);

describe('quickChatAppend', () => {
  it('accepts a typical message, returning what the schema returns', () => {
    expect(check(BASE)).toBe('quick');
    expect(check(TURN)).toBe('quick');
    expect(check({ ...TURN, content: 'Give 800 mg a day.' })).toBe('quick');
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
    const turns = combinations(TURN, VARIANTS, 3000, 0.8);
    expect(turns.quick).toBeGreaterThan(10);
  });

  it('leaves a parent, other parts, provider metadata and a missing content to the schema', () => {
    for (const input of [
      { ...BASE, parentId: '42' },
      { ...TURN, parts: [...TURN.parts, { type: 'step-start' }] },
      { ...TURN, parts: [{ type: 'text', text: 'x', providerMetadata: { openai: { id: 'r1' } } }] },
      { userId: BASE.userId, role: 'user' },
      { userId: BASE.userId, role: 'user', content: undefined, parts: undefined },
    ]) {
      expect(check(input)).toBe('declined');
    }
  });
});
