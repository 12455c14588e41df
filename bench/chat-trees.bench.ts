import { createCarebase } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { benchDatabase, compare } from './harness.ts';

/**
 * Message trees (issue #19): in one run, rotating rounds,
 *   - `cb.chat.path` (the newest 50 messages of the active branch) on a branched conversation of
 *     BENCH_TREE_MESSAGES messages with 100 siblings at every level (so the branch is
 *     messages / 100 deep), against `cb.chat.latest(50)` on a linear conversation of the same size
 *     (the goal: path costs at most 2x latest, a ratio >= 0.5x) and a raw keyset read of 50 rows;
 *   - the same path fetch on the linear conversation (implicit parents: each step is a backward
 *     index probe instead of a primary-key probe);
 *   - `cb.chat.siblings` of a message deep in the branched conversation (100 siblings).
 * BENCH_TREE_MESSAGES defaults to 20,000 for a quick run; the issue's case is 1,000,000.
 */
export default async function run(): Promise<void> {
  const size = Number(process.env.BENCH_TREE_MESSAGES ?? 20_000);
  const fanout = 100;
  const database = await benchDatabase();
  const cb = createCarebase({
    connectionString: database.url,
    pool: { max: 4, statementTimeoutMs: 0, applicationName: 'chat-trees-bench' },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => undefined);
  const schema = cb.config.schema;
  const t = (name: string) => sql.id(schema, name);
  try {
    await cb.migrate();
    const started = performance.now();
    await sql`insert into ${t('users')} (username, email, password_hash, role)
      select 'tree_' || g, 'tree_' || g || '@example.org', 'x', 'nurse' from generate_series(1, 2) g`.execute(
      cb.db,
    );
    const [branchedUser, linearUser] = (
      await cb.db.selectFrom('users').select('id').orderBy('username').execute()
    ).map((row) => row.id) as [string, string];
    const branched = (await cb.chat.createConversation({ userId: branchedUser, title: 'branched' })).id;
    const linear = (await cb.chat.createConversation({ userId: linearUser, title: 'linear' })).id;
    // The branched conversation, as edit/regenerate build it: message k (1-based) sits at level
    // (k-1)/100; the 100 messages of a level are siblings under the last message of the level
    // before (the roots of level 0 are explicit roots); the last message is the active leaf.
    // Ids are given (OVERRIDING SYSTEM VALUE, as the owner) so parents can be computed.
    for (let from = 1; from <= size; from += 100_000) {
      const to = Math.min(size, from + 99_999);
      await sql`insert into ${t('chat_messages')}
        (id, user_id, conversation_id, role, content, parent_id, is_root, created_at) overriding system value
        select k, ${branchedUser}::uuid, ${branched}::uuid, case when ((k - 1) / ${fanout}) % 2 = 0 then 'user' else 'assistant' end,
          'branch message ' || k || ' about wound care for patient ' || (k % 997),
          case when k > ${fanout} then ((k - 1) / ${fanout}) * ${fanout} end, k <= ${fanout},
          timestamptz '2026-01-01' + k * interval '1 millisecond'
        from generate_series(${from}::bigint, ${to}::bigint) k`.execute(cb.db);
    }
    // The linear conversation: plain appends (implicit parents), the same size.
    for (let from = 1; from <= size; from += 100_000) {
      const to = Math.min(size, from + 99_999);
      await sql`insert into ${t('chat_messages')}
        (id, user_id, conversation_id, role, content, created_at) overriding system value
        select ${size}::bigint + k, ${linearUser}::uuid, ${linear}::uuid, case when k % 2 = 0 then 'user' else 'assistant' end,
          'linear message ' || k || ' about wound care for patient ' || (k % 997),
          timestamptz '2026-01-01' + k * interval '1 millisecond'
        from generate_series(${from}::bigint, ${to}::bigint) k`.execute(cb.db);
    }
    await sql`select setval(pg_get_serial_sequence(${`${schema}.chat_messages`}, 'id'), ${2 * size}::bigint)`.execute(
      cb.db,
    );
    await sql`vacuum analyze ${t('chat_messages')}`.execute(cb.db);
    await sql`analyze ${t('conversations')}, ${t('conversation_participants')}`.execute(cb.db);
    process.stdout.write(
      `  generated ${2 * size} messages (branched: ${size / fanout} levels of ${fanout} siblings) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );

    // The shapes are right before timing: the active branch of the branched conversation is its
    // last message's, 50 deep from its leaf.
    const page = await cb.chat.path({ userId: branchedUser, conversationId: branched, limit: 50 });
    const expectedLeaf = String(size);
    if (page.items.length !== 50 || page.items.at(-1)?.id !== expectedLeaf) {
      throw new Error('chat-trees bench: the path is not the generated branch');
    }
    for (let i = 1; i < page.items.length; i++) {
      if (page.items[i]?.parentId !== page.items[i - 1]?.id) throw new Error('chat-trees bench: broken path');
    }
    const deep = page.items[0]?.id as string;
    const siblings = await cb.chat.siblings({
      userId: branchedUser,
      conversationId: branched,
      messageId: deep,
    });
    if (siblings.items.length !== fanout) throw new Error('chat-trees bench: expected 100 siblings');

    const rawLatest = `select id, user_id, conversation_id, client_id, role, content, metadata, created_at
      from ${schema}.chat_messages where user_id = $1 and conversation_id = $2
      order by created_at desc, id desc limit 50`;
    await compare({
      name: `path (newest 50) of a branched ${size.toLocaleString('en-US')}-message conversation vs latest(50) of a linear one`,
      concurrency: 1,
      carebase: () => cb.chat.path({ userId: branchedUser, conversationId: branched, limit: 50 }),
      others: {
        'latest(50) linear': () => cb.chat.latest({ userId: linearUser, conversationId: linear, n: 50 }),
        'raw latest 50': () =>
          pool.query({ name: 'raw-latest', text: rawLatest, values: [linearUser, linear] }),
      },
    });
    await compare({
      name: `path (newest 50) of the linear ${size.toLocaleString('en-US')}-message conversation vs latest(50)`,
      concurrency: 1,
      carebase: () => cb.chat.path({ userId: linearUser, conversationId: linear, limit: 50 }),
      others: {
        'latest(50) linear': () => cb.chat.latest({ userId: linearUser, conversationId: linear, n: 50 }),
      },
    });
    await compare({
      name: `siblings (${fanout}) of a message ${size / fanout - 50} levels deep vs latest(50)`,
      concurrency: 1,
      carebase: () => cb.chat.siblings({ userId: branchedUser, conversationId: branched, messageId: deep }),
      others: {
        'latest(50) linear': () => cb.chat.latest({ userId: linearUser, conversationId: linear, n: 50 }),
      },
    });
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
