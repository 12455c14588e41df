import { sql } from 'kysely';
import type { ChatRole } from '../../schema/chat.js';
import type { RepositoryContext } from '../context.js';
import { sealedTokens } from '../encryption/blind-tokens.js';
import { writeKeys } from '../encryption/data-keys.js';
import { sealMessageFields } from '../encryption/row-envelopes.js';
import { indexedText } from './searchable-text.js';

/** One legacy message ready to insert. */
export interface LegacyRow {
  readonly clientId: string;
  readonly role: ChatRole;
  readonly content: string;
  /** Serialized JSON, or null. */
  readonly metadata: string | null;
  /** The file's timestamp, or null for "now". */
  readonly createdAt: Date | null;
  /** The blind keyword index of a sealed row (a `bigint[]` literal); absent in clear. */
  readonly searchTokens?: string | undefined;
}

/** The user's default conversation, created if missing (race-free: ON CONFLICT on its partial key). */
export async function defaultConversation(ctx: RepositoryContext, userId: string): Promise<string> {
  const now = ctx.now();
  const created = await ctx.db
    .insertInto('conversations')
    .values({ user_id: userId, is_default: true, last_message_at: now, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('user_id').where('is_default', '=', true).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (created !== undefined) return created.id;
  const row = await ctx.db
    .selectFrom('conversations')
    .select('id')
    .where('user_id', '=', userId)
    .where('is_default', '=', true)
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Inserts legacy rows into one conversation in one statement, in file order, each with its own
 * time (or now), skipping client ids already present (ON CONFLICT on (user_id, client_id)), and
 * raises the conversation's `last_message_at` to the newest inserted time. Returns how many were new.
 */
export async function insertLegacyRows(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
  input: readonly LegacyRow[],
): Promise<number> {
  let rows = input;
  if (rows.length === 0) return 0;
  const messages = sql.id(ctx.config.schema, 'chat_messages');
  const conversations = sql.id(ctx.config.schema, 'conversations');
  const now = ctx.now();
  rows = await sealLegacyRows(ctx, userId, conversationId, rows, now);
  const result = await sql<{ inserted: number }>`
    with input as (
      select * from unnest(${rows.map((r) => r.clientId)}::text[], ${rows.map((r) => r.role)}::text[],
        ${rows.map((r) => r.content)}::text[], ${rows.map((r) => r.metadata)}::text[],
        ${rows.map((r) => r.createdAt?.toISOString() ?? null)}::timestamptz[],
        ${rows.map((r) => r.searchTokens ?? null)}::text[])
        with ordinality as t(client_id, role, content, metadata, created_at, search_tokens, ord)
    ), inserted as (
      insert into ${messages} (user_id, conversation_id, client_id, role, content, metadata, language, created_at, search_tokens)
      select ${userId}::uuid, ${conversationId}::uuid, client_id, role, content, metadata::jsonb,
        ${ctx.config.chat.searchLanguage}::regconfig, coalesce(created_at, ${now}::timestamptz), search_tokens::bigint[]
      from input order by ord
      on conflict (user_id, client_id) where client_id is not null do nothing
      returning created_at
    ), touched as (
      update ${conversations} set last_message_at = (select max(created_at) from inserted)
      where user_id = ${userId}::uuid and id = ${conversationId}::uuid
        and last_message_at < (select max(created_at) from inserted)
    )
    select count(*)::int as inserted from inserted`.execute(ctx.db);
  return result.rows[0]?.inserted ?? 0;
}

/** With encryption on, `rows` with content and metadata sealed (docs/encryption.md); else unchanged. */
async function sealLegacyRows(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
  rows: readonly LegacyRow[],
  now: Date,
): Promise<readonly LegacyRow[]> {
  if (ctx.config.encryption === undefined) return rows;
  const keys = (await writeKeys(ctx, [userId])).get(userId);
  if (keys === undefined) throw new Error('carebase: data key missing after creation');
  return rows.map((row) => {
    const createdAt = row.createdAt ?? now;
    const metadata = sealMessageFields(
      keys,
      { userId, conversationId, role: row.role, createdAt },
      row.content,
      row.metadata,
    );
    const searchTokens = sealedTokens(keys, userId, indexedText(row.content));
    return { ...row, content: '', metadata, createdAt, searchTokens };
  });
}
