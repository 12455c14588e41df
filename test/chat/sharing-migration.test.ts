import { createCarebase } from 'carebase';
import { migrate, rollback } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Existing single-owner chat data migrates in place: a database at 0029 with users, conversations
 * and messages gains an owner participant per conversation (0030) and message authors (0031) that
 * name the owner, without any row of chat_messages being rewritten.
 */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
}, 60_000);

afterAll(async () => {
  await database?.drop();
});

describe('migrations 0030-0031 on existing chat data', () => {
  it('backfill an owner participant per conversation; old messages are authored by their owner', async () => {
    await migrate(database.url, { to: '0029_chat_messages_statistics' });
    const client = new pg.Client({ connectionString: database.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(`insert into carebase.users (username, email, password_hash, role)
        select 'old_' || g, 'old_' || g || '@example.org', 'x', 'nurse' from generate_series(1, 20) g`);
      await client.query(`insert into carebase.conversations (user_id, is_default)
        select id, g = 1 from carebase.users, generate_series(1, 3) g`);
      await client.query(`insert into carebase.chat_messages (user_id, conversation_id, role, content)
        select user_id, id, 'user', 'before sharing ' || g from carebase.conversations, generate_series(1, 5) g`);
      const { rows: before } = await client.query<{ ctid: string }>(
        'select ctid::text from carebase.chat_messages order by id',
      );

      await migrate(database.url);

      const { rows: participants } = await client.query<{
        n: number;
        owners: number;
      }>(`select count(*)::int as n,
        count(*) filter (where p.role = 'owner' and p.user_id = c.user_id and p.owner_id = c.user_id)::int as owners
        from carebase.conversations c left join carebase.conversation_participants p on p.conversation_id = c.id`);
      expect(participants[0]).toEqual({ n: 60, owners: 60 });
      const { rows: state } = await client.query(
        'select distinct status, version, archived_at, retain_until, retention_days from carebase.conversations',
      );
      expect(state).toEqual([
        { status: 'open', version: 1, archived_at: null, retain_until: null, retention_days: null },
      ]);
      // No message was rewritten: every row is where it was.
      const { rows: after } = await client.query<{ ctid: string }>(
        'select ctid::text from carebase.chat_messages order by id',
      );
      expect(after).toEqual(before);

      await using cb = createCarebase({ connectionString: database.url });
      const { rows: owner } = await client.query<{ id: string }>(
        "select id from carebase.users where username = 'old_7'",
      );
      const userId = owner[0]?.id as string;
      const { items } = await cb.chat.listConversations({ userId });
      expect(items).toHaveLength(3);
      for (const conversation of items) {
        const page = await cb.chat.history({ userId, conversationId: conversation.id });
        expect(page.items).toHaveLength(5);
        expect(page.items.every((m) => m.authorUserId === userId && m.userId === userId)).toBe(true);
      }
      // A conversation created after the migration gets its owner row from the trigger.
      const fresh = await cb.chat.createConversation({ userId, title: 'new' });
      expect(await cb.chat.listParticipants({ userId, conversationId: fresh.id })).toMatchObject([
        { userId, role: 'owner' },
      ]);
      // And the down sections take it all back out.
      await rollback(database.url, {
        to: '0029_chat_messages_statistics',
        allowLibraryRollback: true,
        allowDataLoss: true,
      });
      const { rows: tables } = await client.query(
        "select to_regclass('carebase.conversation_participants') as t, count(*)::int as n from carebase.chat_messages",
      );
      expect(tables[0]).toEqual({ t: null, n: 300 });
    } finally {
      await client.end();
    }
  }, 120_000);
});
