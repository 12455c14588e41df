import type { CompiledQuery } from 'kysely';
import type { ChatRole } from '../../schema/chat.js';
import type { RepositoryContext } from '../context.js';
import type { MessageRow } from './chat-types.js';
import { preparedQuery } from './sql-text.js';

/** The columns an append returns. */
export const MESSAGE_COLUMNS = 'id, user_id, conversation_id, client_id, role, content, metadata, created_at';

/** A row of an append: the message, and whether it was already present under its client id. */
export type AppendedRow = MessageRow & { existing: boolean };

/** One message, validated, ready to insert. */
export interface NewMessage {
  readonly userId: string;
  readonly conversationId: string | undefined;
  readonly role: ChatRole;
  readonly content: string;
  /** Serialized JSON, or null. */
  readonly metadata: string | null;
  readonly clientId: string | undefined;
}

/**
 * How a single-message shape treats its client id: with one, ON CONFLICT on
 * chat_messages_client_id_key, the touch only when a row was inserted, and the row already
 * stored under the id returned instead (the outer SELECT runs in the statement's snapshot, so it
 * never sees the row this statement inserted); without one, a plain insert.
 */
interface ClientIdShape {
  /** The placeholder of the client id, or undefined for the shape without one. */
  readonly clientId: string | undefined;
}

function insertSql(table: (name: string) => string, values: string, shape: ClientIdShape): string {
  const conflict =
    shape.clientId === undefined
      ? ''
      : '\n  on conflict (user_id, client_id) where client_id is not null do nothing';
  return `insert into ${table('chat_messages')} (user_id, conversation_id, client_id, role, content, metadata, language, created_at)
  values (${values})${conflict}
  returning ${MESSAGE_COLUMNS}`;
}

/**
 * The tail of every single-message shape: bump the conversation's last_message_at (at most once a
 * second; with a client id, only when a row was inserted), then return the row. $1 is the user id,
 * `conversationId` / `now` the expressions of those values.
 */
function tail(
  table: (name: string) => string,
  conversationId: string,
  now: string,
  shape: ClientIdShape,
): string {
  const touched = `, touched as (
  update ${table('conversations')} c set last_message_at = ${now}
  where c.user_id = $1::uuid and c.id = ${conversationId}
    and c.last_message_at < ${now} - interval '1 second'${shape.clientId === undefined ? '' : '\n    and exists (select 1 from inserted)'}
)
select ${MESSAGE_COLUMNS}, false as existing from inserted`;
  return shape.clientId === undefined
    ? touched
    : `${touched}
union all
select ${MESSAGE_COLUMNS}, true from ${table('chat_messages')}
where user_id = $1::uuid and client_id = ${shape.clientId}`;
}

/**
 * One message into a given conversation. Scalar parameters only, so the planner estimates one row
 * whatever the values and PostgreSQL settles on a generic plan after its five custom ones: every
 * table is reached by a unique index ($1, $2 on conversations_pkey; the client id on
 * chat_messages_client_id_key), never scanned. Ownership is the composite foreign key's check.
 * $1 user, $2 conversation, $3 client id (null in the shape without), $4 role, $5 content,
 * $6 metadata, $7 language, $8 now.
 */
function intoConversationSql(table: (name: string) => string, shape: ClientIdShape): string {
  return `with inserted as (
  ${insertSql(table, '$1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::jsonb, $7::regconfig, $8::timestamptz', shape)}
)${tail(table, '$2::uuid', '$8::timestamptz', shape)}`;
}

/**
 * One message into the user's default conversation, created on first use: the lookup is an index
 * scan of conversations_default_key; the create runs only when it found nothing (ON CONFLICT on
 * the same partial unique index, race-free; a concurrent creator's row is invisible to this
 * snapshot, so the message then lacks a conversation and the caller retries once).
 * $1 user, $2 client id (null in the shape without), $3 role, $4 content, $5 metadata,
 * $6 language, $7 now.
 */
function intoDefaultSql(table: (name: string) => string, shape: ClientIdShape): string {
  const conversations = table('conversations');
  return `with found as (
  select id from ${conversations} where user_id = $1::uuid and is_default
), created as (
  insert into ${conversations} (user_id, is_default, last_message_at, created_at, updated_at)
  select $1::uuid, true, $7::timestamptz, $7::timestamptz, $7::timestamptz
  where not exists (select 1 from found)
  on conflict (user_id) where is_default do nothing
  returning id
), inserted as (
  ${insertSql(
    table,
    `$1::uuid, coalesce((select id from found), (select id from created)), $2::text, $3::text, $4::text,
    $5::jsonb, $6::regconfig, $7::timestamptz`,
    shape,
  )}
)${tail(table, '(select conversation_id from inserted)', '$7::timestamptz', shape)}`;
}

/**
 * The single-message append: one of four fixed shapes (a given or the default conversation, with
 * or without a client id), each a named prepared statement.
 */
export function appendOneQuery(
  ctx: RepositoryContext,
  message: NewMessage,
  now: Date,
): CompiledQuery<AppendedRow> {
  const language = ctx.config.chat.searchLanguage;
  const common = [message.clientId ?? null, message.role, message.content, message.metadata, language, now];
  const withId = message.clientId !== undefined;
  const suffix = withId ? '-client-id' : '';
  return message.conversationId === undefined
    ? preparedQuery(
        ctx,
        `append-one-default${suffix}`,
        (t) => intoDefaultSql(t, { clientId: withId ? '$2::text' : undefined }),
        [message.userId, ...common],
      )
    : preparedQuery(
        ctx,
        `append-one${suffix}`,
        (t) => intoConversationSql(t, { clientId: withId ? '$3::text' : undefined }),
        [message.userId, message.conversationId, ...common],
      );
}
