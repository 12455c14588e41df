import { createCarebase } from 'carebase';
import { carebaseMigrations } from 'carebase/migration';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';
import { migrateSchemaForApp } from '../support/database.js';

let f: ChatFixture;

beforeAll(async () => {
  f = await chatFixture();
});

afterAll(async () => {
  await f?.close();
});

async function tables(): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables
    where table_schema = ${f.cb.config.schema} and table_name in ('conversations', 'chat_messages')
    order by 1`.execute(f.cb.db);
  return rows.map((row) => row.name);
}

describe('migration 0005_chat', () => {
  it('creates both tables with an index for every query, and its down section removes them', async () => {
    expect(await tables()).toEqual(['chat_messages', 'conversations']);
    const { rows } = await sql<{ name: string }>`select indexname as name from pg_indexes
      where schemaname = ${f.cb.config.schema} and tablename in ('conversations', 'chat_messages') order by 1`.execute(
      f.cb.db,
    );
    expect(rows.map((row) => row.name)).toEqual([
      'chat_messages_children_idx', // 0039: siblings of a message tree
      'chat_messages_client_id_key',
      'chat_messages_created_at_brin',
      'chat_messages_external_id_key', // 0019: cb.imports.messages idempotency
      'chat_messages_history_idx',
      'chat_messages_pinned_idx', // 0039: pinned system messages of chat.context
      'chat_messages_pkey',
      'chat_messages_search_idx',
      'chat_messages_search_tokens_idx', // 0044: chat.search with encryption on (blind index)
      'conversations_default_key',
      'conversations_external_id_key', // 0017: cb.imports.conversations idempotency
      'conversations_external_lookup_idx', // 0018: conversations by original id
      'conversations_id_idx',
      'conversations_pkey',
      'conversations_user_activity_idx',
    ]);
    const migrations = await carebaseMigrations.load();
    const migration = migrations.find((m) => m.name === '0005_chat');
    expect(migration?.down).toBeDefined();
    // 0030's participants reference conversations: its down runs first, as a rollback would.
    const participants = migrations.find((m) => m.name === '0030_conversation_participants');
    // DDL: as the owner (the fixture's instance runs as the least-privilege app role).
    await using owner = createCarebase({ connectionString: f.database.ownerUrl });
    await owner.transaction(async (tx) => {
      await sql.raw(`set local search_path to ${f.cb.config.schema}`).execute(tx.db);
      await sql.raw(participants?.down ?? '').execute(tx.db);
      await sql.raw(migration?.down ?? '').execute(tx.db);
      expect(
        await (async () => {
          const { rows: left } = await sql<{
            n: number;
          }>`select count(*)::int as n from information_schema.tables
          where table_schema = ${f.cb.config.schema} and table_name in ('conversations', 'chat_messages')`.execute(
            tx.db,
          );
          return left[0]?.n;
        })(),
      ).toBe(0);
      // Re-applying the up section works after the down section (nothing left behind); then
      // 0030's, 0031's and 0042's, which the repository needs.
      await sql.raw(migration?.up ?? '').execute(tx.db);
      await sql.raw(participants?.up ?? '').execute(tx.db);
      const authors = migrations.find((m) => m.name === '0031_chat_message_authors');
      await sql.raw(authors?.up ?? '').execute(tx.db);
      const blindIndex = migrations.find((m) => m.name === '0042_chat_blind_index');
      await sql.raw(blindIndex?.up ?? '').execute(tx.db);
    });
    // 0039 (message trees) runs outside a transaction (CREATE INDEX CONCURRENTLY): statement by
    // statement, each idempotent.
    const trees = migrations.find((m) => m.name === '0039_chat_message_trees');
    await owner.db.connection().execute(async (connection) => {
      await sql.raw(`set search_path to ${f.cb.config.schema}`).execute(connection);
      const statements = (trees?.up ?? '').split(/;\s*\n/);
      for (const statement of statements.filter((text) => /\S/.test(text.replace(/--[^\n]*/g, '')))) {
        await sql.raw(statement).execute(connection);
      }
      await sql.raw('reset search_path').execute(connection);
    });
    // The recreated tables are new objects: grant the app role on them again (idempotent).
    await migrateSchemaForApp(f.database, f.cb.config.schema);
    expect(await tables()).toEqual(['chat_messages', 'conversations']);
  });

  it('the generated search vector follows the per-row language', async () => {
    const userId = await f.user();
    const message = await f.cb.chat.append({ userId, role: 'user', content: 'Running runners ran' });
    const { rows } = await sql<{
      v: string;
      lang: string;
    }>`select search_vector::text as v, language::text as lang
      from ${sql.id(f.cb.config.schema, 'chat_messages')} where id = ${message.id}`.execute(f.cb.db);
    expect(rows[0]).toEqual({ v: "'ran':3 'run':1 'runner':2", lang: 'english' });
    // Another language: 'simple' keeps stop words, so "the" becomes searchable for new messages.
    await using simple = createCarebase({
      connectionString: f.database.url,
      chat: { searchLanguage: 'simple' },
    });
    const other = await simple.chat.append({ userId, role: 'user', content: 'the Running' });
    const { rows: second } = await sql<{
      v: string;
      lang: string;
    }>`select search_vector::text as v, language::text as lang
      from ${sql.id(f.cb.config.schema, 'chat_messages')} where id = ${other.id}`.execute(f.cb.db);
    expect(second[0]).toEqual({ v: "'running':2 'the':1", lang: 'simple' });
    expect((await simple.chat.search({ userId, query: 'the' })).items.map((h) => h.message.id)).toEqual([
      other.id,
    ]);
    expect((await f.cb.chat.search({ userId, query: 'the' })).items).toEqual([]);
  });
});
