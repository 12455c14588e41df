import { fromOpenAIResponseItems, toOpenAIResponseItems } from 'carebase';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * OpenAI Responses API items, typed with the real `openai` definitions: converted to parts, stored
 * in a real PostgreSQL, read back, converted to items, deep-equal to the original. The typecheck
 * proves the output is a valid `ResponseInputItem[]`.
 */
let f: ChatFixture;

beforeAll(async () => {
  f = await chatFixture();
});

afterAll(async () => {
  await f?.close();
});

const items: ResponseInputItem[] = [
  { role: 'developer', content: 'You are a careful clinical assistant.' },
  {
    type: 'message',
    role: 'user',
    content: [{ type: 'input_text', text: 'Dose of amoxicillin for a 20 kg child?' }],
  },
  {
    type: 'reasoning',
    id: 'rs_1',
    summary: [
      { type: 'summary_text', text: 'Weight-based dosing applies.' },
      { type: 'summary_text', text: 'Check the formulary.' },
    ],
    encrypted_content: 'gAAAA-opaque',
    status: 'completed',
  },
  {
    type: 'function_call',
    id: 'fc_1',
    call_id: 'call_1',
    name: 'formulary',
    arguments: '{"drug":"amoxicillin","weightKg":20}',
    status: 'completed',
  },
  { type: 'function_call_output', call_id: 'call_1', output: '{"mgPerKgPerDay":40}' },
  { type: 'function_call', call_id: 'call_2', name: 'calc', arguments: '{ "a": 1 }' },
  { type: 'function_call_output', call_id: 'call_2', output: 'not json' },
  { type: 'reasoning', id: 'rs_2', summary: [] },
  {
    type: 'message',
    id: 'msg_1',
    role: 'assistant',
    status: 'completed',
    content: [
      {
        type: 'output_text',
        text: '800 mg a day, in divided doses.',
        annotations: [
          {
            type: 'url_citation',
            url: 'https://bnfc.nice.org.uk/',
            title: 'BNFC',
            start_index: 0,
            end_index: 6,
          },
        ],
      },
      { type: 'output_text', text: 'Confirm the weight.', annotations: [] },
    ],
  },
  { role: 'user', content: 'Thanks' },
];

describe('OpenAI Responses items round trip', () => {
  it('items come back deep-equal after a real append and read', async () => {
    const userId = await f.user();
    const conversation = await f.cb.chat.createConversation({ userId });
    const messages = fromOpenAIResponseItems(items);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    await f.cb.chat.appendMany(messages.map((m) => ({ userId, conversationId: conversation.id, ...m })));
    const { items: stored } = await f.cb.chat.history({ userId, conversationId: conversation.id });
    expect(stored[2]?.parts?.map((p) => p.type)).toEqual([
      'reasoning',
      'reasoning',
      'tool-call',
      'tool-result',
      'tool-call',
      'tool-result',
      'reasoning',
      'text',
      'text',
    ]);
    const back: ResponseInputItem[] = toOpenAIResponseItems(stored);
    expect(back).toEqual(items);
    // Reasoning summaries are searchable.
    expect((await f.cb.chat.search({ userId, query: 'formulary' })).items.map((h) => h.message.id)).toEqual([
      stored[2]?.id,
    ]);
  });

  it('plain messages become role messages', async () => {
    const userId = await f.user();
    const message = await f.cb.chat.append({ userId, role: 'user', content: 'Hello' });
    const out: ResponseInputItem[] = toOpenAIResponseItems([message]);
    expect(out).toEqual([{ role: 'user', content: 'Hello' }]);
  });

  it('refuses an item type it does not store', () => {
    expect(() => fromOpenAIResponseItems([{ type: 'web_search_call' }])).toThrow(/0\.type/);
  });
});
