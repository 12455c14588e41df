import { randomBytes } from 'node:crypto';
import { type ChatPart, localKeyring, ValidationError } from 'carebase';
import { ChatPartSchema } from 'carebase/schemas';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/** Typed message parts against a real PostgreSQL, as the app role. */
let f: ChatFixture;
let tools: ChatFixture;
let sealed: ChatFixture;

beforeAll(async () => {
  f = await chatFixture({
    chat: { maxParts: 20, maxPartJsonDepth: 6, maxPartJsonBytes: 2_000, maxInlineFileBytes: 64 },
  });
  tools = await chatFixture({ chat: { searchToolParts: true } });
  const keyring = localKeyring({ keys: { k1: randomBytes(32).toString('base64') }, current: 'k1' });
  sealed = await chatFixture({ encryption: { keyring } });
});

afterAll(async () => {
  await Promise.all([f?.close(), tools?.close(), sealed?.close()]);
});

const PARTS: ChatPart[] = [
  { type: 'step-start' },
  { type: 'reasoning', text: 'The eGFR suggests nephrotoxicity risk with gentamicin.' },
  { type: 'tool-call', toolCallId: 'c1', toolName: 'renalDose', input: { drug: 'zanamivirex', egfr: 25 } },
  { type: 'tool-result', toolCallId: 'c1', output: { mg: 250, note: 'quokkamycin' }, isError: false },
  { type: 'text', text: 'Give 250 mg.' },
  { type: 'text', text: 'Recheck levels tomorrow.' },
  { type: 'file', storageKey: 'scans/ct-17.dcm', mediaType: 'application/dicom', filename: 'ct.dcm' },
  {
    type: 'source',
    sourceType: 'url',
    sourceId: 's1',
    url: 'https://example.org/renal',
    title: 'Renal dosing',
  },
  { type: 'data', name: 'triage', data: { level: 2 }, id: 'd1' },
];

async function count(fixture: ChatFixture, userId: string): Promise<number> {
  const row = await fixture.cb.db
    .selectFrom('chat_messages')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return row.n;
}

async function failure(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('chat parts', () => {
  it('stores parts; content is the joined text parts; history, latest, search and export return them', async () => {
    const userId = await f.user();
    const appended = await f.cb.chat.append({ userId, role: 'assistant', parts: PARTS });
    expect(appended.content).toBe('Give 250 mg.\n\nRecheck levels tomorrow.');
    expect(appended.parts).toEqual(PARTS);
    const plain = await f.cb.chat.append({ userId, role: 'user', content: 'plain text' });
    expect(plain.parts).toBeNull();
    const { items } = await f.cb.chat.history({ userId });
    expect(items.map((m) => m.parts)).toEqual([PARTS, null]);
    const latest = await f.cb.chat.latest({ userId, n: 2 });
    expect(latest[0]?.parts).toEqual(PARTS);
    const [batch] = await f.cb.chat.appendMany([
      { userId, role: 'assistant', content: 'summary', parts: PARTS },
    ]);
    expect(batch?.content).toBe('summary');
    expect(batch?.parts).toEqual(PARTS);
    // Stored with its version.
    const row = await f.cb.db
      .selectFrom('chat_messages')
      .select('parts')
      .where('id', '=', appended.id)
      .executeTakeFirstOrThrow();
    expect(row.parts).toEqual({ v: 1, parts: PARTS });
    let text = '';
    for await (const chunk of f.cb.chat.export({ userId, format: 'jsonl' })) text += chunk;
    const records = text
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => JSON.parse(line) as { id: string; parts: unknown });
    expect(records.find((r) => r.id === appended.id)?.parts).toEqual(PARTS);
    expect(records.find((r) => r.id === plain.id)?.parts).toBeNull();
  });

  it('search covers text and reasoning parts; tool JSON only with chat.searchToolParts', async () => {
    const userId = await f.user();
    const message = await f.cb.chat.append({ userId, role: 'assistant', parts: PARTS });
    const reasoning = await f.cb.chat.search({ userId, query: 'nephrotoxicity' });
    expect(reasoning.items.map((hit) => hit.message.id)).toEqual([message.id]);
    expect(reasoning.items[0]?.message.parts).toEqual(PARTS);
    expect(reasoning.items[0]?.snippet).toContain('<b>nephrotoxicity</b>');
    expect((await f.cb.chat.search({ userId, query: 'recheck' })).items).toHaveLength(1);
    expect((await f.cb.chat.search({ userId, query: 'zanamivirex' })).items).toHaveLength(0);
    expect((await f.cb.chat.search({ userId, query: 'quokkamycin' })).items).toHaveLength(0);

    const other = await tools.user();
    const withTools = await tools.cb.chat.append({ userId: other, role: 'assistant', parts: PARTS });
    expect(
      (await tools.cb.chat.search({ userId: other, query: 'zanamivirex' })).items.map((h) => h.message.id),
    ).toEqual([withTools.id]);
    expect((await tools.cb.chat.search({ userId: other, query: 'quokkamycin' })).items).toHaveLength(1);
  });

  it('refuses bad parts before SQL, naming the part, and writes nothing', async () => {
    const userId = await f.user();
    await f.cb.chat.append({ userId, role: 'user', content: 'first' });
    const deep = { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } };
    const cases: [unknown[], string, string][] = [
      [
        [
          { type: 'text', text: 'ok' },
          { type: 'tool-call', toolCallId: 'c', toolName: 't', input: deep },
        ],
        'parts.1.input',
        'parts[1].input',
      ],
      [
        [{ type: 'tool-result', toolCallId: 'c', output: 'x'.repeat(3_000), isError: false }],
        'parts.0.output',
        'parts[0].output',
      ],
      [[{ type: 'data', name: 'x', data: [deep] }], 'parts.0.data', 'parts[0].data'],
      [
        [{ type: 'file', url: `data:image/png;base64,${'A'.repeat(100)}`, mediaType: 'image/png' }],
        'parts.0.url',
        'parts[0].url',
      ],
      [Array.from({ length: 21 }, () => ({ type: 'step-start' })), 'parts', 'parts'],
      [[{ type: 'video', url: 'x' }], 'parts.0.type', ''],
      [[{ type: 'file', mediaType: 'image/png' }], 'parts.0.url', ''],
      [[{ type: 'text', text: 'a\u0000b' }], 'parts.0.text', ''],
      [[{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: { n: 10n } }], 'parts.0.input.n', ''],
    ];
    for (const [parts, field, shown] of cases) {
      const error = await failure(
        f.cb.chat.append({ userId, role: 'assistant', parts: parts as ChatPart[] }),
      );
      expect(error.field?.startsWith(field), `${error.field} starts with ${field}`).toBe(true);
      if (shown !== '') expect(error.message).toContain(shown);
      expect(error.message).not.toContain('quokka');
    }
    // appendMany: the path names the message.
    const batchError = await failure(
      f.cb.chat.appendMany([
        { userId, role: 'user', content: 'fine' },
        {
          userId,
          role: 'assistant',
          parts: [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: deep }],
        },
      ]),
    );
    expect(batchError.field?.startsWith('1.parts.0.input')).toBe(true);
    expect(batchError.message).toContain('[1].parts[0].input');
    // Neither content nor parts.
    expect((await failure(f.cb.chat.append({ userId, role: 'user' }))).field).toBe('content');
    expect(await count(f, userId)).toBe(1);
    expect(ChatPartSchema.safeParse({ type: 'text', text: 'x' }).success).toBe(true);
  });

  it('with encryption, parts are sealed: no part text in any column, and they read back', async () => {
    const userId = await sealed.user();
    const message = await sealed.cb.chat.append({ userId, role: 'assistant', parts: PARTS });
    expect(message.parts).toEqual(PARTS);
    const rows = await sealed.cb.db
      .selectFrom('chat_messages')
      .selectAll()
      .where('user_id', '=', userId)
      .execute();
    const raw = JSON.stringify(rows);
    for (const word of [
      'nephrotoxicity',
      'zanamivirex',
      'quokkamycin',
      'Recheck',
      'ct-17',
      'triage',
      'renalDose',
    ]) {
      expect(raw, word).not.toContain(word);
    }
    expect(rows[0]?.parts).toBeNull();
    expect(rows[0]?.parts_search).toBeNull();
    const { items } = await sealed.cb.chat.history({ userId });
    expect(items[0]?.parts).toEqual(PARTS);
    expect(items[0]?.content).toBe('Give 250 mg.\n\nRecheck levels tomorrow.');
  });
});
