import { createCarebase } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { benchDatabase, compare } from './harness.ts';

/**
 * What shared conversations cost on the append hot path (issue #19): in one run, rotating rounds,
 *   - `cb.chat.append` by the conversation's owner and by a member (participation is checked in
 *     the statement, by the participants' primary key);
 *   - the pre-#19 append statement (owner only, ownership by the composite foreign key), run raw as
 *     a named prepared statement: the baseline the owner's append must stay close to;
 *   - the append statement since #19, run raw the same way (the SQL cost of the participation
 *     check, without carebase's own overhead);
 *   - a raw INSERT + touch of the conversation (the same work without any check).
 * 200 users with a conversation each, 1 and 8 writers, each writer on its own conversation.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({
    connectionString: database.url,
    pool: { max: 8, applicationName: 'chat-sharing' },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  pool.on('error', () => undefined);
  const schema = cb.config.schema;
  try {
    await cb.migrate();
    await sql`insert into ${sql.id(schema, 'users')} (username, email, password_hash, role)
      select 'share_' || g, 'share_' || g || '@example.org', 'x', 'nurse' from generate_series(1, 200) g`.execute(
      cb.db,
    );
    await sql`insert into ${sql.id(schema, 'conversations')} (user_id, is_default)
      select id, false from ${sql.id(schema, 'users')}`.execute(cb.db);
    const rows = await cb.db
      .selectFrom('conversations')
      .select(['user_id', 'id'])
      .orderBy('user_id')
      .execute();
    const writers = rows.slice(0, 8);
    const members = rows.slice(8, 16).map((row) => row.user_id);
    for (const [i, w] of writers.entries()) {
      await cb.chat.addParticipant({
        userId: w.user_id,
        conversationId: w.id,
        participantId: members[i] as string,
        role: 'member',
      });
    }
    await sql`analyze ${sql.id(schema, 'conversations')}, ${sql.id(schema, 'conversation_participants')}`.execute(
      cb.db,
    );
    const before = `with inserted as (
  insert into ${schema}.chat_messages (user_id, conversation_id, client_id, role, content, metadata, language, created_at)
  values ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::jsonb, $7::regconfig, $8::timestamptz)
  returning id, user_id, conversation_id, client_id, role, content, metadata, created_at
), touched as (
  update ${schema}.conversations c set last_message_at = $8::timestamptz
  where c.user_id = $1::uuid and c.id = $2::uuid
    and c.last_message_at < $8::timestamptz - interval '1 second'
)
select id, user_id, conversation_id, client_id, role, content, metadata, created_at, false as existing from inserted`;
    // The same statement since #19: the caller's participation (owner or member) gives the key.
    const after = `with access as (
  select owner_id from ${schema}.conversation_participants
  where conversation_id = $2::uuid and user_id = $1::uuid and role <> 'viewer'
), inserted as (
  insert into ${schema}.chat_messages (author_user_id, user_id, conversation_id, client_id, role, content, metadata, language, created_at)
  select $1::uuid, owner_id, $2::uuid, $3::text, $4::text, $5::text, $6::jsonb, $7::regconfig, $8::timestamptz
  from access
  returning id, user_id, conversation_id, client_id, role, content, metadata, created_at, author_user_id
), touched as (
  update ${schema}.conversations c set last_message_at = $8::timestamptz
  where c.user_id = (select owner_id from access) and c.id = $2::uuid
    and c.last_message_at < $8::timestamptz - interval '1 second'
)
select id, user_id, conversation_id, client_id, role, content, metadata, created_at, author_user_id, false as existing from inserted`;
    const touch = `with m as (
  insert into ${schema}.chat_messages (user_id, conversation_id, role, content, metadata, language, created_at)
  values ($1, $2, $3, $4, $5, 'english', $6) returning id, created_at
), t as (
  update ${schema}.conversations c set last_message_at = $6
  where c.user_id = $1 and c.id = $2 and c.last_message_at < $6::timestamptz - interval '1 second'
) select * from m`;
    let n = 0;
    for (const concurrency of [1, 8]) {
      const next = () => writers[n++ % concurrency] as { user_id: string; id: string };
      await compare(
        {
          name: `append one message to an owned conversation, with participants (x${concurrency})`,
          concurrency,
          carebase: () => {
            const w = next();
            return cb.chat.append({
              userId: w.user_id,
              conversationId: w.id,
              role: 'user',
              content: `owner ${n}`,
            });
          },
          others: {
            'raw INSERT + touch': () => {
              const w = next();
              return pool.query({
                name: 'raw-insert-touch',
                text: touch,
                values: [w.user_id, w.id, 'user', `raw ${n}`, null, new Date()],
              });
            },
            'pre-#19 append SQL (raw)': () => {
              const w = next();
              return pool.query({
                name: 'pre-19-append',
                text: before,
                values: [w.user_id, w.id, null, 'user', `before ${n}`, null, 'english', new Date()],
              });
            },
            'post-#19 append SQL (raw)': () => {
              const w = next();
              return pool.query({
                name: 'post-19-append',
                text: after,
                values: [w.user_id, w.id, null, 'user', `after ${n}`, null, 'english', new Date()],
              });
            },
            'cb.chat.append by a member': () => {
              const i = n++ % concurrency;
              const w = writers[i] as { id: string };
              return cb.chat.append({
                userId: members[i] as string,
                conversationId: w.id,
                role: 'user',
                content: `member ${n}`,
              });
            },
          },
        },
        { rounds: 10, roundMs: 1000 },
      );
    }
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
