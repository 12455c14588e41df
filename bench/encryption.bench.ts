import { randomBytes } from 'node:crypto';
import { createCarebase, localKeyring } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { benchDatabase, compare } from './harness.ts';

/**
 * Envelope encryption's cost on the chat hot paths, in one run on one database: the same
 * operation through an instance with `encryption` on and one without (goals, issue 21: append
 * >= 0.75x, history page >= 0.7x), plus raw pg for scale. The ratio column is encryption on vs
 * encryption off (the first "other" side).
 *   - append one message (x1, x8): each worker to its own user's conversation, data keys cached;
 *   - history first page of 50 from a 2,000-message conversation: decrypting 51 envelopes vs not;
 *   - chat.search through the blind index vs plaintext FTS on the same messages, for a query with
 *     one hit, 50 hits (a phrase) and 2,000 hits (every candidate decrypted and ranked).
 * Messages are ~400 characters with a small metadata object, like a chat turn.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const keyring = localKeyring({ keys: { bench: randomBytes(32) }, current: 'bench' });
  const plain = createCarebase({
    connectionString: database.url,
    pool: { max: 8 },
    chat: { maxPageSize: 1000 },
  });
  const sealed = createCarebase({
    connectionString: database.url,
    pool: { max: 8 },
    chat: { maxPageSize: 1000 },
    encryption: { keyring },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  pool.on('error', () => undefined);
  const schema = plain.config.schema;
  const text = (n: number) =>
    `Patient in bed ${n % 40} reports pain 6/10 after the dressing change; vitals stable, BP 128/82, HR 88. ` +
    'Asked whether the scheduled oxycodone can be given early and what non-drug measures help before the next dose. '.repeat(
      2,
    ) +
    `Turn ${n}.`;
  try {
    await plain.migrate();
    await sql`insert into ${sql.id(schema, 'users')} (username, email, password_hash, role)
      select 'enc_' || g, 'enc_' || g || '@example.org', 'x', 'nurse' from generate_series(0, 19) g`.execute(
      plain.db,
    );
    const users = await plain.db.selectFrom('users').select('id').orderBy('username').execute();
    const conversations: string[] = [];
    for (const [i, u] of users.entries()) {
      // Users 0-9 write in clear, 10-19 encrypted: each instance on its own rows.
      const cb = i < 10 ? plain : sealed;
      conversations.push((await cb.chat.createConversation({ userId: u.id, title: `bench ${i}` })).id);
    }
    const history = 2000;
    for (const index of [0, 10]) {
      const cb = index === 0 ? plain : sealed;
      const userId = (users[index] as { id: string }).id;
      for (let from = 0; from < history; from += 500) {
        await cb.chat.appendMany(
          Array.from({ length: 500 }, (_, i) => ({
            userId,
            conversationId: conversations[index] as string,
            role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
            content: text(from + i),
            metadata: { model: 'bench-1', tokens: 120 + i },
          })),
        );
      }
    }
    await sql`vacuum analyze ${sql.id(schema, 'chat_messages')}`.execute(plain.db);
    const rawInsert = `insert into "${schema}".chat_messages (user_id, conversation_id, role, content, metadata, created_at)
      values ($1, $2, $3, $4, $5, $6) returning id`;

    let n = 0;
    for (const concurrency of [1, 8]) {
      await compare(
        {
          name: 'append one message, encryption on vs off',
          concurrency,
          carebase: () => {
            const w = 10 + (n++ % concurrency);
            return sealed.chat.append({
              userId: (users[w] as { id: string }).id,
              conversationId: conversations[w] as string,
              role: 'user',
              content: text(n),
              metadata: { model: 'bench-1', tokens: n },
            });
          },
          others: {
            'encryption off': () => {
              const w = n++ % concurrency;
              return plain.chat.append({
                userId: (users[w] as { id: string }).id,
                conversationId: conversations[w] as string,
                role: 'user',
                content: text(n),
                metadata: { model: 'bench-1', tokens: n },
              });
            },
            'raw INSERT': () => {
              const w = n++ % concurrency;
              return pool.query({
                name: 'enc-raw-insert',
                text: rawInsert,
                values: [
                  (users[w] as { id: string }).id,
                  conversations[w],
                  'user',
                  text(n),
                  JSON.stringify({ model: 'bench-1', tokens: n }),
                  new Date(),
                ],
              });
            },
          },
        },
        { rounds: 4, roundMs: 1000 },
      );
    }
    await compare(
      {
        name: `history first page of 50 (of ${history}), decryption vs none`,
        concurrency: 1,
        carebase: () =>
          sealed.chat.history({
            userId: (users[10] as { id: string }).id,
            conversationId: conversations[10] as string,
            limit: 50,
          }),
        others: {
          'encryption off': () =>
            plain.chat.history({
              userId: (users[0] as { id: string }).id,
              conversationId: conversations[0] as string,
              limit: 50,
            }),
        },
      },
      { rounds: 4, roundMs: 1000 },
    );
    // Blind-index search vs plaintext FTS on the same 2,000 messages (issue 21 item 6: report).
    for (const [label, query] of [
      ['one hit', 'turn 1234'],
      ['50 hits, phrase', '"bed 7"'],
      ['2,000 hits', 'oxycodone'],
    ] as const) {
      await compare(
        {
          name: `search '${query}' (${label}), first page of 20: blind index vs plaintext FTS`,
          concurrency: 1,
          carebase: () => sealed.chat.search({ userId: (users[10] as { id: string }).id, query, limit: 20 }),
          others: {
            'plaintext FTS': () =>
              plain.chat.search({ userId: (users[0] as { id: string }).id, query, limit: 20 }),
          },
        },
        { rounds: 3, roundMs: 1000 },
      );
    }
  } finally {
    await plain.close();
    await sealed.close();
    await pool.end();
    await database.drop();
  }
}
