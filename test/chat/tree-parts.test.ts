import { randomBytes } from 'node:crypto';
import { type ChatPart, type JsonValue, localKeyring, ValidationError } from 'carebase';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * Typed parts (and usage) on `edit` / `regenerate`: the new sibling carries them like an append,
 * with the same limits, and sealed the same way under encryption. Runs as the app role.
 */
let f: ChatFixture;
let sealed: ChatFixture;

beforeAll(async () => {
  f = await chatFixture({ chat: { maxParts: 8, maxPartJsonDepth: 6, maxPartJsonBytes: 2_000 } });
  const keyring = localKeyring({ keys: { k1: randomBytes(32).toString('base64') }, current: 'k1' });
  sealed = await chatFixture({ encryption: { keyring } });
});

afterAll(async () => {
  await Promise.all([f?.close(), sealed?.close()]);
});

const ANSWER: ChatPart[] = [
  { type: 'reasoning', text: 'Renal function lowers the nephrotoxicity threshold.' },
  { type: 'tool-call', toolCallId: 'c1', toolName: 'renalDose', input: { drug: 'zanamivirex', egfr: 25 } },
  { type: 'tool-result', toolCallId: 'c1', output: { mg: 250, note: 'quokkamycin' }, isError: false },
  { type: 'text', text: 'Give 250 mg once daily.' },
];

const USAGE = {
  provider: 'openai',
  model: `regen-${randomBytes(3).toString('hex')}`,
  inputTokens: 900,
  outputTokens: 120,
  cost: '0.002500000007',
  currency: 'USD',
  status: 'ok',
} as const;

/** A conversation `question → answer` of a fresh user. */
async function asked(fixture: ChatFixture) {
  const userId = await fixture.user();
  const { id: conversationId } = await fixture.cb.chat.createConversation({ userId });
  const question = await fixture.cb.chat.append({ userId, conversationId, role: 'user', content: 'Dose?' });
  const answer = await fixture.cb.chat.append({
    userId,
    conversationId,
    role: 'assistant',
    content: 'Ask a pharmacist.',
  });
  return { userId, conversationId, question, answer };
}

async function rows(
  fixture: ChatFixture,
  table: 'chat_messages' | 'chat_usage' | 'audit_log',
): Promise<number> {
  const row = await fixture.cb.db
    .selectFrom(table)
    .select(sql<number>`count(*)::int`.as('n'))
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

describe('regenerate with parts and usage', () => {
  it('writes tool-call, tool-result and text parts with the usage; path and siblings return them; usage counts it', async () => {
    const { userId, conversationId, answer } = await asked(f);
    const from = new Date(Date.now() - 60_000);
    const regenerated = await f.cb.chat.regenerate({
      userId,
      messageId: answer.id,
      parts: ANSWER,
      usage: USAGE,
    });
    expect(regenerated.parts).toEqual(ANSWER);
    expect(regenerated.content).toBe('Give 250 mg once daily.');
    expect(regenerated.parentId).not.toBeNull();

    const path = await f.cb.chat.path({ userId, conversationId });
    expect(path.items.map((m) => m.id)).toEqual([path.items[0]?.id, regenerated.id]);
    expect(path.items.at(-1)?.parts).toEqual(ANSWER);
    const siblings = await f.cb.chat.siblings({ userId, messageId: regenerated.id });
    expect(siblings.items.map((m) => m.parts)).toEqual([null, ANSWER]);
    expect(siblings.index).toBe(1);

    const [row] = await f.cb.chat.usage({
      userId,
      model: USAGE.model,
      from,
      to: new Date(Date.now() + 60_000),
      groupBy: 'model',
    });
    expect(row).toMatchObject({
      key: USAGE.model,
      calls: 1,
      inputTokens: 900,
      outputTokens: 120,
      cost: '0.002500000007',
    });

    // The reasoning and text parts are searchable, the tool JSON is not (searchToolParts off).
    expect(
      (await f.cb.chat.search({ userId, query: 'nephrotoxicity' })).items.map((h) => h.message.id),
    ).toEqual([regenerated.id]);
    expect((await f.cb.chat.search({ userId, query: 'quokkamycin' })).items).toHaveLength(0);
  });

  it('keeps an explicit content beside the parts', async () => {
    const { userId, answer } = await asked(f);
    const regenerated = await f.cb.chat.regenerate({
      userId,
      messageId: answer.id,
      content: 'Summary',
      parts: ANSWER,
    });
    expect(regenerated.content).toBe('Summary');
    expect(regenerated.parts).toEqual(ANSWER);
  });
});

describe('edit with parts', () => {
  it('writes the edited prompt with its parts as a sibling of the original', async () => {
    const { userId, question } = await asked(f);
    const parts: ChatPart[] = [
      { type: 'text', text: 'And for an eGFR of 25?' },
      { type: 'file', storageKey: 'labs/egfr.pdf', mediaType: 'application/pdf' },
    ];
    const edited = await f.cb.chat.edit({ userId, messageId: question.id, parts });
    expect(edited.role).toBe('user');
    expect(edited.content).toBe('And for an eGFR of 25?');
    const siblings = await f.cb.chat.siblings({ userId, messageId: question.id });
    expect(siblings.items.map((m) => m.parts)).toEqual([null, parts]);
  });
});

describe('bad input: ValidationError before any write', () => {
  it('refuses bad parts, missing content and parts, too many parts, too deep tool JSON', async () => {
    const { userId, question, answer } = await asked(f);
    const before = await Promise.all([rows(f, 'chat_messages'), rows(f, 'chat_usage'), rows(f, 'audit_log')]);
    let deep: JsonValue = 'x';
    for (let i = 0; i < 10; i++) deep = { deep };
    const cases: [() => Promise<unknown>, string][] = [
      [() => f.cb.chat.regenerate({ userId, messageId: answer.id } as never), 'content'],
      [() => f.cb.chat.edit({ userId, messageId: question.id, parts: [{ type: 'nope' }] } as never), 'parts'],
      [
        () =>
          f.cb.chat.regenerate({
            userId,
            messageId: answer.id,
            parts: Array(9).fill({ type: 'text', text: 'x' }),
            usage: USAGE,
          }),
        'parts',
      ],
      [
        () =>
          f.cb.chat.regenerate({
            userId,
            messageId: answer.id,
            parts: [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: deep }],
            usage: USAGE,
          }),
        'parts',
      ],
    ];
    for (const [call, field] of cases) {
      const error = await failure(call());
      expect(error.issues[0]?.path[0]).toBe(field);
      expect(error.message).not.toContain('zanamivirex');
    }
    expect(
      await Promise.all([rows(f, 'chat_messages'), rows(f, 'chat_usage'), rows(f, 'audit_log')]),
    ).toEqual(before);
  });
});

describe('with encryption', () => {
  it('seals the parts of a regenerated answer; path decrypts them; the blind index finds their text', async () => {
    const { userId, conversationId, answer } = await asked(sealed);
    const regenerated = await sealed.cb.chat.regenerate({
      userId,
      messageId: answer.id,
      parts: ANSWER,
      usage: USAGE,
    });
    const stored = await sealed.cb.db
      .selectFrom('chat_messages')
      .selectAll()
      .where('user_id', '=', userId)
      .where('id', '=', regenerated.id)
      .execute();
    const raw = JSON.stringify(stored);
    for (const word of ['nephrotoxicity', 'zanamivirex', 'quokkamycin', 'renalDose', '250 mg']) {
      expect(raw, word).not.toContain(word);
    }
    expect(stored[0]?.parts).toBeNull();
    const path = await sealed.cb.chat.path({ userId, conversationId });
    expect(path.items.at(-1)?.parts).toEqual(ANSWER);
    expect(
      (await sealed.cb.chat.search({ userId, query: 'nephrotoxicity' })).items.map((h) => h.message.id),
    ).toEqual([regenerated.id]);
  });
});
