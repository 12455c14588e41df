import { type ChatPart, createCarebase } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { benchDatabase, compare } from './harness.ts';

/**
 * What typed parts and a usage record cost on the append hot path (issue #19, goal >= 0.8x): in
 * one run, rotating rounds,
 *   - `cb.chat.append` of an assistant turn as parts (reasoning, a tool call and its result, two
 *     text parts) with its usage record (written in the same transaction);
 *   - `cb.chat.append` of the same answer as plain text (the baseline of the ratio column);
 *   - a raw INSERT + touch of the conversation with the plain text (no checks, no usage).
 * 64 users with a conversation each, 1 and 8 writers, each writer on its own conversation.
 */
const PARTS: ChatPart[] = [
  {
    type: 'reasoning',
    text: 'The patient weighs 20 kg; amoxicillin is dosed per kilogram, check the formulary.',
  },
  {
    type: 'tool-call',
    toolCallId: 'call_1',
    toolName: 'formulary',
    input: { drug: 'amoxicillin', weightKg: 20 },
  },
  {
    type: 'tool-result',
    toolCallId: 'call_1',
    output: { mgPerKgPerDay: 40, maxDailyMg: 3000 },
    isError: false,
  },
  { type: 'text', text: 'Give 800 mg a day, in three divided doses.' },
  { type: 'text', text: 'Confirm the weight before prescribing.' },
];
const TEXT = 'Give 800 mg a day, in three divided doses.\n\nConfirm the weight before prescribing.';

export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({
    connectionString: database.url,
    pool: { max: 8, applicationName: 'chat-parts' },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  pool.on('error', () => undefined);
  const schema = cb.config.schema;
  try {
    await cb.migrate();
    await sql`insert into ${sql.id(schema, 'users')} (username, email, password_hash, role)
      select 'parts_' || g, 'parts_' || g || '@example.org', 'x', 'nurse' from generate_series(1, 64) g`.execute(
      cb.db,
    );
    const writers: { userId: string; conversationId: string }[] = [];
    for (const { id } of await cb.db.selectFrom('users').select('id').orderBy('id').limit(8).execute()) {
      writers.push({ userId: id, conversationId: (await cb.chat.createConversation({ userId: id })).id });
    }
    const touch = `with m as (
  insert into ${schema}.chat_messages (user_id, conversation_id, role, content, metadata, language, created_at)
  values ($1, $2, $3, $4, $5, 'english', $6) returning id, created_at
), t as (
  update ${schema}.conversations c set last_message_at = $6
  where c.user_id = $1 and c.id = $2 and c.last_message_at < $6::timestamptz - interval '1 second'
) select * from m`;
    let n = 0;
    for (const concurrency of [1, 8]) {
      const next = () => writers[n++ % concurrency] as { userId: string; conversationId: string };
      await compare(
        {
          name: 'append an assistant turn as parts + usage, vs plain text',
          concurrency,
          carebase: () =>
            cb.chat.append({
              ...next(),
              role: 'assistant',
              parts: PARTS,
              usage: {
                provider: 'openai',
                model: 'gpt-5-mini',
                inputTokens: 812,
                outputTokens: 96,
                cost: '0.000394',
                currency: 'USD',
                latencyMs: 1830,
                status: 'ok',
              },
            }),
          others: {
            'cb.chat.append plain text': () =>
              cb.chat.append({ ...next(), role: 'assistant', content: TEXT }),
            'cb.chat.append parts, no usage': () =>
              cb.chat.append({ ...next(), role: 'assistant', parts: PARTS }),
            'cb.chat.append plain text + usage': () =>
              cb.chat.append({
                ...next(),
                role: 'assistant',
                content: TEXT,
                usage: { provider: 'openai', model: 'gpt-5-mini', inputTokens: 812, status: 'ok' },
              }),
            'raw INSERT + touch': () => {
              const w = next();
              return pool.query({
                name: 'raw-insert-touch',
                text: touch,
                values: [w.userId, w.conversationId, 'assistant', TEXT, null, new Date()],
              });
            },
          },
        },
        { rounds: 8, roundMs: 1000 },
      );
    }
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
