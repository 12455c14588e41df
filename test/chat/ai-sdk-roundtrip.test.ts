import type { UIMessage } from 'ai';
import { fromUIMessage, toUIMessage } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * AI SDK v5 UIMessages, typed with the real `ai` definitions: converted in, stored in a real
 * PostgreSQL, read back, converted out, deep-equal to the original. The typecheck (test/ is
 * covered) proves the converters' shapes are the AI SDK's in both directions.
 */
let f: ChatFixture;

beforeAll(async () => {
  f = await chatFixture();
});

afterAll(async () => {
  await f?.close();
});

const user: UIMessage = {
  id: 'msg-user-1',
  role: 'user',
  metadata: { locale: 'en-GB' },
  parts: [
    { type: 'text', text: 'Is 1 g of paracetamol every 4 hours safe?' },
    { type: 'file', mediaType: 'image/png', url: 'https://files.example.org/rash.png', filename: 'rash.png' },
  ],
};

const assistant: UIMessage = {
  id: 'msg-assistant-1',
  role: 'assistant',
  parts: [
    { type: 'step-start' },
    {
      type: 'reasoning',
      text: 'Maximum daily dose is 4 g; every 4 hours gives 6 g.',
      state: 'done',
      providerMetadata: { openai: { itemId: 'rs_1' } },
    },
    {
      type: 'tool-doseLimit',
      toolCallId: 'call_1',
      state: 'output-available',
      input: { drug: 'paracetamol', weightKg: 70 },
      output: { maxDailyMg: 4000 },
      callProviderMetadata: { openai: { itemId: 'fc_1' } },
    },
    {
      type: 'dynamic-tool',
      toolName: 'interactions',
      toolCallId: 'call_2',
      title: 'Interaction check',
      state: 'output-error',
      input: { drugs: ['paracetamol', 'warfarin'] },
      errorText: 'service unavailable',
    },
    {
      type: 'tool-formulary',
      toolCallId: 'call_3',
      state: 'input-available',
      input: { q: 'paracetamol' },
      providerExecuted: true,
    },
    { type: 'text', text: 'No: that is 6 g a day, above the 4 g maximum.', state: 'done' },
    {
      type: 'source-url',
      sourceId: 'src-1',
      url: 'https://bnf.nice.org.uk/drugs/paracetamol/',
      title: 'BNF: paracetamol',
    },
    {
      type: 'source-document',
      sourceId: 'src-2',
      mediaType: 'application/pdf',
      title: 'Ward protocol',
      filename: 'protocol.pdf',
    },
    { type: 'data-triage', id: 'triage-1', data: { level: 'amber', flags: ['overdose-risk'] } },
  ],
};

describe('AI SDK v5 UIMessage round trip', () => {
  it('user and assistant messages come back deep-equal after a real append and read', async () => {
    const userId = await f.user();
    const conversation = await f.cb.chat.createConversation({ userId });
    const stored = await f.cb.chat.appendMany(
      [user, assistant].map((message) => ({
        userId,
        conversationId: conversation.id,
        ...fromUIMessage(message),
      })),
    );
    expect(stored[0]?.content).toBe('Is 1 g of paracetamol every 4 hours safe?');
    const { items } = await f.cb.chat.history({ userId, conversationId: conversation.id });
    const back: UIMessage[] = items.map(toUIMessage);
    expect(back).toEqual([user, assistant]);
    // A retry of the same UIMessage (its id is the client id) returns the stored message.
    const again = await f.cb.chat.append({
      userId,
      conversationId: conversation.id,
      ...fromUIMessage(assistant),
    });
    expect(again.id).toBe(stored[1]?.id);
  });

  it('a plain carebase message becomes one text part', async () => {
    const userId = await f.user();
    const message = await f.cb.chat.append({ userId, role: 'assistant', content: 'Hello' });
    const ui: UIMessage = toUIMessage(message);
    expect(ui).toEqual({ id: message.id, role: 'assistant', parts: [{ type: 'text', text: 'Hello' }] });
  });

  it('refuses a part type it cannot store, before SQL', () => {
    expect(() => fromUIMessage({ id: 'x', role: 'user', parts: [{ type: 'video', url: 'x' }] })).toThrow(
      /parts\.0\.type/,
    );
  });
});
