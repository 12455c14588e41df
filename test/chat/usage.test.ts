import { ValidationError } from 'carebase';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/** The usage ledger: written with the assistant message, or not at all; sums exact against SQL. */
let f: ChatFixture;
let alice: string;
let bob: string;
let conversationId: string;

beforeAll(async () => {
  f = await chatFixture();
  alice = await f.user();
  bob = await f.user();
  conversationId = (await f.cb.chat.createConversation({ userId: alice })).id;
  await f.cb.chat.addParticipant({ userId: alice, conversationId, participantId: bob, role: 'member' });
});

afterAll(async () => {
  await f?.close();
});

async function counts(): Promise<{ messages: number; usage: number }> {
  const messages = await f.cb.db.selectFrom('chat_messages').select('id').execute();
  const usage = await f.cb.db.selectFrom('chat_usage').select('id').execute();
  return { messages: messages.length, usage: usage.length };
}

describe('chat usage ledger', () => {
  it('stores the usage of an assistant message with it, under the owner, authored by the caller', async () => {
    const message = await f.cb.chat.append({
      userId: bob,
      conversationId,
      role: 'assistant',
      content: 'Take it with food.',
      usage: {
        provider: 'openai',
        model: 'gpt-5',
        inputTokens: 1200,
        outputTokens: 300,
        cachedTokens: 100,
        reasoningTokens: 50,
        cost: '0.004500000001',
        currency: 'USD',
        latencyMs: 2100,
        status: 'ok',
      },
    });
    const row = await f.cb.db
      .selectFrom('chat_usage')
      .selectAll()
      .where('message_id', '=', message.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      user_id: alice,
      author_user_id: bob,
      conversation_id: conversationId,
      model: 'gpt-5',
      input_tokens: '1200',
      cost: '0.004500000001',
      currency: 'USD',
      status: 'ok',
    });
  });

  it('refuses bad usage before any SQL, writing nothing', async () => {
    const before = await counts();
    const base = { userId: alice, conversationId, content: 'x' };
    const bad: unknown[] = [
      { ...base, role: 'user', usage: { provider: 'p', model: 'm', status: 'ok' } },
      { ...base, role: 'assistant', usage: { provider: 'p', model: 'm', status: 'fine' } },
      { ...base, role: 'assistant', usage: { provider: 'p', model: 'm', status: 'ok', cost: '0.1' } },
      {
        ...base,
        role: 'assistant',
        usage: { provider: 'p', model: 'm', status: 'ok', cost: 0.1, currency: 'USD' },
      },
      {
        ...base,
        role: 'assistant',
        usage: { provider: 'p', model: 'm', status: 'ok', cost: '-1', currency: 'USD' },
      },
      { ...base, role: 'assistant', usage: { provider: 'p', model: 'm', status: 'ok', inputTokens: -1 } },
      { ...base, role: 'assistant', usage: { provider: '', model: 'm', status: 'ok' } },
    ];
    for (const input of bad) {
      await expect(f.cb.chat.append(input as Parameters<typeof f.cb.chat.append>[0])).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
    expect(await counts()).toEqual(before);
  });

  it('a usage write that fails fails the call: neither the message nor its usage is written', async () => {
    const before = await counts();
    // The database refuses the ledger row (INSERT revoked from the app role): a real failure.
    const owner = new pg.Client({ connectionString: f.database.ownerUrl });
    owner.on('error', () => undefined);
    await owner.connect();
    const role = (await owner.query<{ role: string }>(`select current_user as role`)).rows[0]?.role;
    const app = new URL(f.database.url).username;
    expect(app).not.toBe(role);
    const table = `"${f.cb.config.schema}".chat_usage`;
    try {
      await owner.query(`revoke insert on ${table} from "${app}"`);
      const error = await f.cb.chat
        .appendMany([
          { userId: alice, conversationId, role: 'user', content: 'question' },
          {
            userId: alice,
            conversationId,
            role: 'assistant',
            content: 'answer',
            usage: { provider: 'p', model: 'm', outputTokens: 5, status: 'ok' },
          },
        ])
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: expect.any(String) });
      expect(await counts()).toEqual(before);
    } finally {
      await owner.query(`grant insert on ${table} to "${app}"`);
      await owner.end();
    }
  });

  it('usage() sums exactly what a raw SUM over the ledger gives, per day, model, user and conversation', async () => {
    const other = (await f.cb.chat.createConversation({ userId: bob })).id;
    await f.cb.chat.addParticipant({
      userId: bob,
      conversationId: other,
      participantId: alice,
      role: 'member',
    });
    const models = ['gpt-5', 'claude', 'llama'];
    for (let i = 0; i < 30; i++) {
      await f.cb.chat.append({
        userId: i % 2 === 0 ? alice : bob,
        conversationId: i % 3 === 0 ? other : conversationId,
        role: 'assistant',
        content: `answer ${i}`,
        usage: {
          provider: 'x',
          model: models[i % 3] as string,
          inputTokens: 1000 + i,
          outputTokens: 7 * i,
          cost: `0.${String(i).padStart(3, '0')}000000003`,
          currency: i % 5 === 0 ? 'EUR' : 'USD',
          status: i % 7 === 0 ? 'error' : 'ok',
        },
      });
    }
    const from = new Date(Date.now() - 86_400_000);
    const to = new Date(Date.now() + 86_400_000);
    const keys = {
      day: `to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD')`,
      model: 'model',
      user: 'author_user_id::text',
      conversation: 'conversation_id::text',
    } as const;
    const owner = new pg.Client({ connectionString: f.database.ownerUrl });
    owner.on('error', () => undefined);
    await owner.connect();
    try {
      for (const groupBy of ['day', 'model', 'user', 'conversation'] as const) {
        const rows = await f.cb.chat.usage({ from, to, groupBy });
        const raw = await owner.query(
          `select ${keys[groupBy]} as key, currency, count(*)::int as calls, sum(input_tokens)::text as input,
             sum(output_tokens)::text as output, sum(cost)::text as cost
           from "${f.cb.config.schema}".chat_usage where created_at >= $1 and created_at < $2
           group by 1, 2 order by 1, 2`,
          [from, to],
        );
        expect(
          rows.map((r) => [
            r.key,
            r.currency,
            r.calls,
            String(r.inputTokens),
            String(r.outputTokens),
            r.cost,
          ]),
        ).toEqual(raw.rows.map((r) => [r.key, r.currency, r.calls, r.input, r.output, r.cost]));
      }
      const gpt = await f.cb.chat.usage({ from, to, groupBy: 'conversation', model: 'gpt-5', userId: alice });
      const rawGpt = await owner.query(
        `select conversation_id::text as key, sum(cost)::text as cost from "${f.cb.config.schema}".chat_usage
         where model = 'gpt-5' and author_user_id = $1 group by 1, currency order by 1, currency`,
        [alice],
      );
      expect(gpt.map((r) => [r.key, r.cost])).toEqual(rawGpt.rows.map((r) => [r.key, r.cost]));
      expect(await f.cb.chat.usage({ from: to, to: new Date(to.getTime() + 1), groupBy: 'day' })).toEqual([]);
    } finally {
      await owner.end();
    }
    await expect(f.cb.chat.usage({ from: to, to: from, groupBy: 'day' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(f.cb.chat.usage({ from, to, groupBy: 'week' as 'day' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('a retried append (same id) records its usage once', async () => {
    const input = {
      userId: alice,
      conversationId,
      id: 'retry-usage-1',
      role: 'assistant' as const,
      content: 'once',
      usage: {
        provider: 'p',
        model: 'm',
        outputTokens: 9,
        cost: '0.5',
        currency: 'USD',
        status: 'ok' as const,
      },
    };
    const first = await f.cb.chat.append(input);
    const again = await f.cb.chat.append(input);
    const [batched] = await f.cb.chat.appendMany([input]);
    expect(again.id).toBe(first.id);
    expect(batched?.id).toBe(first.id);
    const rows = await f.cb.db
      .selectFrom('chat_usage')
      .select('id')
      .where('message_id', '=', first.id)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('erasing the owner erases their ledger', async () => {
    const carol = await f.user();
    await f.cb.chat.append({
      userId: carol,
      role: 'assistant',
      content: 'hi',
      usage: { provider: 'p', model: 'm', status: 'ok' },
    });
    await f.cb.users.erase(carol);
    const left = await f.cb.db.selectFrom('chat_usage').select('id').where('user_id', '=', carol).execute();
    expect(left).toEqual([]);
  });
});
