import { createCarebase } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { type ChatPeer, langchainPeer, mastraPeer } from './chat-peers.ts';
import { benchDatabase, compare, duration, record } from './harness.ts';

/**
 * Chat history at 1M messages across 1k users (generated in SQL): one user holds ~900k messages
 * in one conversation (the deep-page case), the other 999 hold 100 each.
 *   - history: first page vs a page 900k messages deep (keyset), carebase vs the same raw SQL;
 *   - append (x1, x8) and appendMany (1000 messages) vs raw pg inserts, same run;
 *   - search latency on a typical and on the 900k-message user;
 *   - export: peak RSS growth while streaming ~1M messages (carebase vs raw pg-cursor).
 * CHAT_BENCH_SCALE (default 1) scales the message counts down for a quick run (0.111: ~100k
 * messages); CHAT_BENCH_SKIP (comma-separated: offset, search, export) leaves parts out.
 * LangChain and Mastra run as peers in the same rounds when installed (see chat-peers.ts).
 */
export default async function run(): Promise<void> {
  const scale = Number(process.env.CHAT_BENCH_SCALE ?? 1);
  const bigCount = Math.round(900_000 * scale);
  const perUser = Math.max(1, Math.round(100 * scale));
  const skip = new Set((process.env.CHAT_BENCH_SKIP ?? '').split(',').filter(Boolean));
  const database = await benchDatabase();
  const cb = createCarebase({
    connectionString: database.url,
    // No statement timeout for the bulk load; an application_name of its own.
    pool: { max: 8, statementTimeoutMs: 0, applicationName: 'chat8-bench' },
    chat: { maxPageSize: 1000 },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  // database.drop() terminates connections the pool may still be closing: never crash on that.
  pool.on('error', () => undefined);
  const schema = cb.config.schema;
  try {
    await cb.migrate();
    const started = performance.now();
    await sql`insert into ${sql.id(schema, 'users')} (username, email, password_hash, role)
      select 'bench_' || g, 'bench_' || g || '@example.org', 'x', 'nurse' from generate_series(0, 999) g`.execute(
      cb.db,
    );
    await sql`insert into ${sql.id(schema, 'conversations')} (user_id, is_default, last_message_at)
      select id, true, now() from ${sql.id(schema, 'users')}`.execute(cb.db);
    const topics = sql.raw(
      `(array['insulin dose','blood pressure','wound care','fall risk','sepsis screening','pain score',
        'discharge plan','heparin drip','oxygen saturation','hand hygiene'])[1 + g % 10]`,
    );
    const generateRange = (where: string, from: number, to: number) => sql`
      insert into ${sql.id(schema, 'chat_messages')} (user_id, conversation_id, role, content, created_at)
      select u.id, c.id, case when g % 2 = 0 then 'user' else 'assistant' end,
        'message ' || g || ' about ' || ${topics} || ' for patient ' || (g % 997),
        timestamptz '2026-01-01' + (g / 4) * interval '1 millisecond'
      from ${sql.id(schema, 'users')} u
      join ${sql.id(schema, 'conversations')} c on c.user_id = u.id and c.is_default,
      generate_series(${from}::int, ${to}::int) g
      where ${sql.raw(where)}`;
    // In slices of 100k rows, each retried once (the server is shared with other test suites).
    const generate = async (where: string, count: number): Promise<void> => {
      for (let from = 1; from <= count; from += 100_000) {
        const to = Math.min(count, from + 99_999);
        await generateRange(where, from, to)
          .execute(cb.db)
          .catch(() => generateRange(where, from, to).execute(cb.db));
      }
    };
    // Bulk load without the GIN index, then build it once (what a restore would do too).
    await sql`drop index ${sql.id(schema, 'chat_messages_search_idx')}`.execute(cb.db);
    await generate(`u.username = 'bench_0'`, bigCount);
    await generate(`u.username <> 'bench_0'`, perUser);
    await cb.transaction(async (tx) => {
      await sql`set local maintenance_work_mem = '256MB'`.execute(tx.db);
      await sql`create index chat_messages_search_idx on ${sql.id(schema, 'chat_messages')} using gin (search_vector)`.execute(
        tx.db,
      );
    });
    await sql`vacuum analyze ${sql.id(schema, 'chat_messages')}`.execute(cb.db);
    const { rows: countRows } = await sql<{
      n: string;
    }>`select count(*) as n from ${sql.id(schema, 'chat_messages')}`.execute(cb.db);
    process.stdout.write(
      `  generated ${countRows[0]?.n} messages for 1000 users in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    const users = await cb.db.selectFrom('users').select(['id', 'username']).orderBy('username').execute();
    const big = users.find((u) => u.username === 'bench_0')?.id as string;
    const small = users.find((u) => u.username === 'bench_500')?.id as string;
    const bigConversation = (
      await cb.db
        .selectFrom('conversations')
        .select('id')
        .where('user_id', '=', big)
        .executeTakeFirstOrThrow()
    ).id;

    // --- optional peers (skipped, with the reason printed, when not installed) -----------------
    const peers: ChatPeer[] = [];
    for (const result of [await langchainPeer(pool), await mastraPeer(database.url, big)]) {
      if ('peer' in result) peers.push(result.peer);
      else process.stdout.write(`  peer skipped: ${result.skipped}\n`);
    }
    const peerSides = (pick: (peer: ChatPeer) => () => Promise<unknown>) =>
      Object.fromEntries(peers.map((peer) => [peer.name, pick(peer)]));
    if (peers.length > 0) {
      // Each peer holds a history as deep as carebase's big conversation is not generated here:
      // give each 1000 messages so its history read is not an empty one.
      for (const peer of peers) for (let i = 0; i < 1000; i++) await peer.append(0, `seed ${i}`);
    }

    // --- history: first page vs a page ~900k messages deep -------------------------------------
    const depth = Math.max(0, bigCount - 100);
    const deepStart = await cb.chat.history({
      userId: big,
      conversationId: bigConversation,
      limit: 50,
      offset: depth - 50,
    });
    const deepCursor = deepStart.nextCursor as string;
    const rawHistory = `select id, user_id, conversation_id, client_id, role, content, metadata, created_at
      from ${schema}.chat_messages where user_id = $1 and conversation_id = $2 and (created_at, id) > ($3::timestamptz, $4::bigint)
      order by created_at, id limit 51`;
    const lastDeep = deepStart.items.at(-1);
    const { rows: deepKey } = await pool.query(
      `select created_at from ${schema}.chat_messages where user_id = $1 and id = $2`,
      [big, lastDeep?.id],
    );
    const first = await duration({
      name: 'history first page (50 of 900k)',
      runs: 40,
      warmup: 50,
      carebase: () => cb.chat.history({ userId: big, conversationId: bigConversation, limit: 50 }),
      raw: () =>
        pool.query({ name: 'raw-history', text: rawHistory, values: [big, bigConversation, '-infinity', 0] }),
    });
    const deep = await duration({
      name: `history page at depth ${depth.toLocaleString('en-US')} (keyset)`,
      runs: 40,
      warmup: 50,
      carebase: () =>
        cb.chat.history({ userId: big, conversationId: bigConversation, limit: 50, cursor: deepCursor }),
      raw: () =>
        pool.query({
          name: 'raw-history',
          text: rawHistory,
          values: [big, bigConversation, deepKey[0]?.created_at, lastDeep?.id],
        }),
    });
    record({
      name: 'history deep page vs first page (carebase)',
      unit: 'ms (median)',
      carebase: deep.carebase,
      raw: first.carebase,
      ratio: deep.carebase / first.carebase,
      note: 'ratio = deep / first; target <= 1.5',
    });
    // Throughput of pages, every side in each round, rotating order (the figures the issue asks).
    await compare({
      name: 'history first page of 50, with conversationId',
      concurrency: 1,
      carebase: () => cb.chat.history({ userId: big, conversationId: bigConversation, limit: 50 }),
      others: {
        'raw keyset': () =>
          pool.query({
            name: 'raw-history',
            text: rawHistory,
            values: [big, bigConversation, '-infinity', 0],
          }),
        ...peerSides((peer) => () => peer.history()),
      },
    });
    await compare({
      name: 'history first page of 50, default conversation (no conversationId)',
      concurrency: 1,
      carebase: () => cb.chat.history({ userId: big, limit: 50 }),
      others: {
        'raw keyset': () =>
          pool.query({
            name: 'raw-history',
            text: rawHistory,
            values: [big, bigConversation, '-infinity', 0],
          }),
      },
    });
    await compare({
      name: `history page at depth ${depth.toLocaleString('en-US')}`,
      concurrency: 1,
      carebase: () =>
        cb.chat.history({ userId: big, conversationId: bigConversation, limit: 50, cursor: deepCursor }),
      others: {
        'raw keyset': () =>
          pool.query({
            name: 'raw-history',
            text: rawHistory,
            values: [big, bigConversation, deepKey[0]?.created_at, lastDeep?.id],
          }),
      },
    });
    if (!skip.has('offset')) {
      await duration({
        name: `history offset ${depth.toLocaleString('en-US')} (seed API, for contrast)`,
        runs: 3,
        carebase: () =>
          cb.chat.history({ userId: big, conversationId: bigConversation, limit: 50, offset: depth }),
        raw: () =>
          pool.query(
            `select * from ${schema}.chat_messages where user_id = $1 and conversation_id = $2 order by created_at, id limit 50 offset $3`,
            [big, bigConversation, depth],
          ),
      });
    }

    // --- append and appendMany vs raw inserts --------------------------------------------------
    const smallConversation = (
      await cb.db
        .selectFrom('conversations')
        .select('id')
        .where('user_id', '=', small)
        .executeTakeFirstOrThrow()
    ).id;
    // The same work as append in one raw statement, with the invariants issue #25 names for its
    // baseline: the caller's right to write (participation, which replaced ownership), the
    // idempotent client id (ON CONFLICT on its unique index; null here, as carebase's call passes
    // none), the full-text vector (generated), and the conversation's activity bumped at most once
    // a second, as carebase does. What it leaves out of carebase's append: the message tree (the
    // chosen branch's lock and parent), and returning an earlier row stored under the client id.
    const rawInsertTouch = `with access as (
        select owner_id from ${schema}.conversation_participants
        where conversation_id = $2 and user_id = $1 and role <> 'viewer'
      ), m as (
        insert into ${schema}.chat_messages (author_user_id, user_id, conversation_id, client_id, role, content, metadata, language, created_at)
        select $1, owner_id, $2, null, $3, $4, $5, 'english', $6 from access
        on conflict (user_id, client_id) where client_id is not null do nothing
        returning id, user_id, created_at
      ), t as (
        update ${schema}.conversations c set last_message_at = $6
        where c.user_id = (select user_id from m) and c.id = $2 and c.last_message_at < $6::timestamptz - interval '1 second'
      ) select id, created_at from m`;
    // The bare floor: an insert and nothing else.
    const rawInsert = `insert into ${schema}.chat_messages (user_id, conversation_id, role, content, metadata, language, created_at)
      values ($1, $2, $3, $4, $5, 'english', $6) returning id, created_at`;
    // Each worker appends to its own user's default conversation (as concurrent chat sessions do).
    const writers = await cb.db
      .selectFrom('conversations')
      .select(['user_id', 'id'])
      .where(
        'user_id',
        'in',
        users.slice(100, 108).map((u) => u.id),
      )
      .execute();
    let n = 0;
    for (const concurrency of [1, 8]) {
      await compare(
        {
          name: 'append one message',
          concurrency,
          carebase: () => {
            const w = writers[n++ % concurrency] as { user_id: string; id: string };
            return cb.chat.append({
              userId: w.user_id,
              conversationId: w.id,
              role: 'user',
              content: `bench append ${n}`,
            });
          },
          others: {
            'raw INSERT + touch + checks': () => {
              const w = writers[n++ % concurrency] as { user_id: string; id: string };
              return pool.query({
                name: 'raw-insert-touch',
                text: rawInsertTouch,
                values: [w.user_id, w.id, 'user', `bench raw ${n}`, null, new Date()],
              });
            },
            'raw INSERT': () => {
              const w = writers[n++ % concurrency] as { user_id: string; id: string };
              return pool.query({
                name: 'raw-insert',
                text: rawInsert,
                values: [w.user_id, w.id, 'user', `bench raw ${n}`, null, new Date()],
              });
            },
            ...peerSides((peer) => () => peer.append(n++ % concurrency, `bench peer ${n}`)),
          },
        },
        { rounds: 4, roundMs: 1000 },
      );
    }
    await compare(
      {
        name: 'append one message to the default conversation (no conversationId)',
        concurrency: 1,
        carebase: () => cb.chat.append({ userId: small, role: 'user', content: `bench default ${n++}` }),
        others: {
          'raw INSERT + touch + checks': () =>
            pool.query({
              name: 'raw-insert-touch',
              text: rawInsertTouch,
              values: [small, smallConversation, 'user', `bench raw ${n++}`, null, new Date()],
            }),
        },
      },
      { rounds: 4, roundMs: 1000 },
    );
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      userId: small,
      conversationId: smallConversation,
      role: 'assistant' as const,
      content: `batch message ${i} about wound care`,
    }));
    const rawUnnest = `insert into ${schema}.chat_messages (user_id, conversation_id, role, content, language, created_at)
      select $1, $2, r, c, 'english', $5 from unnest($3::text[], $4::text[]) as t(r, c) returning id`;
    await duration({
      name: 'appendMany 1000 messages vs raw INSERT ... unnest',
      runs: 12,
      carebase: () => cb.chat.appendMany(batch),
      raw: () =>
        pool.query({
          name: 'raw-unnest',
          text: rawUnnest,
          values: [
            small,
            smallConversation,
            batch.map((m) => m.role),
            batch.map((m) => m.content),
            new Date(),
          ],
        }),
    });
    for (const peer of peers) await peer.close();
    if (skip.has('search')) return;

    // --- search ----------------------------------------------------------------------------------
    const rawSearch = `select m.id, ts_rank_cd(m.search_vector, q) as rank, ts_headline('english', m.content, q) as snippet
      from ${schema}.chat_messages m, websearch_to_tsquery('english', $2) q
      where m.user_id = $1 and m.search_vector @@ q order by rank desc, id desc limit 20`;
    for (const [label, userId, query] of [
      ['typical user (~100 messages)', small, '"wound care" -heparin'],
      ['typical user (~100 messages)', small, 'insulin or heparin'],
      ['900k-message user, rare term', big, '"patient 13" sepsis'],
      ['900k-message user, common term (90k hits)', big, 'insulin'],
    ] as const) {
      await duration({
        name: `search ${label}: ${query}`,
        runs: label.startsWith('900k') ? 5 : 30,
        carebase: () => cb.chat.search({ userId, query, limit: 20 }),
        raw: () => pool.query(rawSearch, [userId, query]),
      });
    }

    if (skip.has('export')) return;
    // --- export: peak RSS growth while streaming ~1M messages ------------------------------------
    const sampleRss = async (
      fn: () => Promise<number>,
    ): Promise<{ growthMb: number; rows: number; ms: number }> => {
      const base = process.memoryUsage().rss;
      let peak = base;
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const t0 = performance.now();
      const rows = await fn();
      const ms = performance.now() - t0;
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { growthMb: (peak - base) / 2 ** 20, rows, ms };
    };
    const carebaseExport = await sampleRss(async () => {
      let lines = 0;
      let bytes = 0;
      for (const user of users) {
        for await (const chunk of cb.chat.export({ userId: user.id, format: 'jsonl' })) {
          const text = String(chunk);
          bytes += text.length;
          for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
        }
      }
      process.stdout.write(
        `  carebase export: ${lines - users.length} messages, ${(bytes / 2 ** 20).toFixed(0)} MiB of jsonl\n`,
      );
      return lines - users.length;
    });
    const rawExport = await sampleRss(async () => {
      let rows = 0;
      for (const user of users) {
        const client = await pool.connect();
        try {
          const cursor = client.query(
            new Cursor(
              `select id, conversation_id, client_id, role, content, metadata, created_at from ${schema}.chat_messages
               where user_id = $1 order by conversation_id, created_at, id`,
              [user.id],
            ),
          );
          for (;;) {
            const batchRows = await cursor.read(500);
            if (batchRows.length === 0) break;
            for (const row of batchRows) {
              JSON.stringify(row);
              rows++;
            }
          }
          await cursor.close();
        } finally {
          client.release();
        }
      }
      return rows;
    });
    record({
      name: `export ${carebaseExport.rows.toLocaleString('en-US')} messages (jsonl): peak RSS growth`,
      unit: 'ms (median)',
      carebase: carebaseExport.growthMb,
      raw: rawExport.growthMb,
      ratio: rawExport.growthMb / Math.max(carebaseExport.growthMb, 0.01),
      note: `MB, not ms; target < 64 MB; carebase ${(carebaseExport.ms / 1000).toFixed(1)} s vs raw pg-cursor ${(rawExport.ms / 1000).toFixed(1)} s`,
    });
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
