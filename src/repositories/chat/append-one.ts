import type { PreparedQuery } from '../../pool/prepared-statements.js';
import type { ChatRole } from '../../schema/chat.js';
import type { RepositoryContext } from '../context.js';
import type { MessageRow } from './chat-types.js';
import { preparedQuery } from './sql-text.js';
import type { ChatUsageRecord } from './usage-inputs.js';
import { markDirtyText } from './usage-rollups.js';

/**
 * A row of an append: the message, whether it was already present under its client id, and (batch
 * statement only) the caller whose input it answers.
 */
export type AppendedRow = MessageRow & { existing: boolean; caller_id?: string | null };

/**
 * The columns a single-message append returns: only what the server decided (the id, the owner
 * whose key the row is stored under, the conversation, the resolved parent). The rest of the
 * message is the caller's input, so nothing it wrote (content, parts, metadata) travels back over
 * the wire or is parsed and decrypted again.
 */
const LEAN_COLUMNS = 'id, user_id, conversation_id, parent_id';

/** A row of a single-message append (see {@link LEAN_COLUMNS}). */
export interface LeanAppendedRow {
  readonly id: string;
  readonly user_id: string;
  readonly conversation_id: string;
  readonly parent_id: string | null;
  /** True for the row already stored under the client id (its other columns are read apart). */
  readonly existing: boolean;
}

/** One message, validated, ready to insert. */
export interface NewMessage {
  readonly userId: string;
  readonly conversationId: string | undefined;
  readonly role: ChatRole;
  readonly content: string;
  /** Serialized JSON, or null. */
  readonly metadata: string | null;
  /** The serialized stored parts (`{"v":1,"parts":[...]}`), or null. */
  readonly parts: string | null;
  /** The searchable text of the parts beyond the content (see searchable-text.ts), or null. */
  readonly partsSearch: string | null;
  readonly clientId: string | undefined;
  /**
  /**
   * The blind keyword index of a sealed message (a PostgreSQL `bigint[]` literal, see
   * src/repositories/encryption/blind-tokens.ts); absent for messages stored in clear.
   */
  readonly searchTokens?: string | undefined;
  /**
   * The usage of the model call behind an assistant message, written in the same transaction:
   * by the single-message statement itself (append-one), or after a batch by `insertUsage`.
   */
  readonly usage?: ChatUsageRecord | undefined;
  /**
   * An explicit parent (a message id of the same conversation); without one the message goes
   * under the conversation's active leaf (see {@link appendOneQuery}).
   */
  readonly parentId?: string | undefined;
  /** An explicit root (the edit of a first message): no parent, whatever the active leaf. */
  readonly root?: boolean | undefined;
  /** A pinned system message. */
  readonly pinned?: boolean | undefined;
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
  /**
   * The number of the first of the usage record's ten placeholders, or undefined for the shape
   * without usage.
   */
  readonly usage?: number | undefined;
}

/**
 * The usage record of the inserted message, in the same statement (so in its implicit
 * transaction: both or neither), for the new row only (a retried client id writes no second
 * usage row), and the dirty mark of its UTC day when that day is already rolled up (`markDirtyText`,
 * as for batches: a row landing in a closed day, e.g. behind a skewed clock near
 * midnight, is summed again by the next refresh). $u provider, model, input, output, cached and
 * reasoning tokens, cost, currency, latency, status; `now` the expression of the write time.
 */
function usageSql(table: (name: string) => string, u: number, now: string): string {
  const p = (i: number) => `$${u + i}`;
  return `, usage as (
  insert into ${table('chat_usage')} (user_id, conversation_id, message_id, author_user_id, provider, model,
    input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost, currency, latency_ms, status, created_at)
  select user_id, conversation_id, id, coalesce(author_user_id, user_id), ${p(0)}::text, ${p(1)}::text,
    ${p(2)}::bigint, ${p(3)}::bigint, ${p(4)}::bigint, ${p(5)}::bigint, ${p(6)}::numeric, ${p(7)}::text,
    ${p(8)}::integer, ${p(9)}::text, created_at
  from inserted
  returning created_at
), usage_dirty as (
  ${markDirtyText(table, 'usage', now)}
)`;
}

/**
 * What a single-message shape's `inserted` CTE returns: only what its other parts read (the
 * returned row, the usage record, the conversation update). Returning every message column
 * (content, metadata, parts) cost the server ~20 us a statement in a scratch A/B.
 */
const INSERTED_COLUMNS = 'id, user_id, conversation_id, parent_id, author_user_id, created_at';

/** `source` is the VALUES list or SELECT that yields the row (author first, then the message's key). */
function insertSql(table: (name: string) => string, source: string, shape: ClientIdShape): string {
  const conflict =
    shape.clientId === undefined
      ? ''
      : '\n  on conflict (user_id, client_id) where client_id is not null do nothing';
  return `insert into ${table('chat_messages')} (author_user_id, user_id, conversation_id, client_id, role, content, metadata, language, created_at, parent_id, is_root, pinned,
    parts, parts_search, search_tokens)
  ${source}${conflict}
  returning ${INSERTED_COLUMNS}`;
}

/**
 * The conversation update of an append: last_message_at at most once a second, and the active leaf
 * moved to the newest message written when another leaf was chosen (so the next append, which
 * waits for this one on the row lock of `leafCte`, continues the branch from it: concurrent appends
 * to a chosen branch form one chain, whatever their clocks say). A conversation without a chosen
 * leaf keeps none (its newest message is its leaf). A plain append to a conversation without a
 * chosen leaf, within a second of the previous one, updates nothing: the conversation row stays out
 * of the hot path. `from` is an optional FROM clause (the batch statement's set of touched
 * conversations); the statement's `inserted` CTE gives the messages written.
 */
export function touchSql(
  table: (name: string) => string,
  owner: string,
  conversationId: string,
  now: string,
  from = '',
): string {
  const stale = `c.last_message_at < ${now} - interval '1 second'`;
  return `update ${table('conversations')} c
  set last_message_at = case when ${stale} then ${now} else c.last_message_at end,
    active_leaf_id = case when c.active_leaf_id is null then null
      else coalesce((select max(i.id) from inserted i where i.user_id = c.user_id and i.conversation_id = c.id),
        c.active_leaf_id) end${from}
  where c.user_id = ${owner} and c.id = ${conversationId}
    and (${stale} or c.active_leaf_id is not null)`;
}

/**
 * The conversation's chosen active leaf, when one is chosen, with the conversation row locked (FOR
 * NO KEY UPDATE, which blocks no reader and no foreign-key check): appends to a chosen branch take
 * turns, so each continues from the one before. A conversation without a chosen leaf returns no
 * row and takes no lock. After waiting for a concurrent append, the row is read again (READ
 * COMMITTED), so `id` is the leaf that append left, which the statement's snapshot cannot see yet:
 * see {@link staleSelect}.
 */
function leafCte(table: (name: string) => string, owner: string, conversationId: string): string {
  return `leaf as (
  select active_leaf_id as id from ${table('conversations')}
  where user_id = ${owner} and id = ${conversationId} and active_leaf_id is not null
  for no key update
)`;
}

/**
 * A row when the locked leaf is a message this statement's snapshot cannot see and differs from
 * the leaf in that snapshot: a concurrent append moved it and committed while this statement
 * waited. The statement then writes nothing (a single-message shape returns no row, the batch
 * statement a marker row of NULLs), and the caller runs it again with a fresh snapshot (see
 * `insertSealed`). A leaf that is the same in both but names no message (deleted since it was
 * chosen) is not stale: the append takes the implicit parent, as before trees. `applies` is the SQL
 * condition under which the leaf is used at all, `leafFound` whether it was found as a message.
 */
export function staleSelect(applies: string, leafFound: string, snapshotLeaf: string): string {
  return `select 1 from leaf l
  where ${applies} and not ${leafFound} and l.id is distinct from ${snapshotLeaf}`;
}

/** The placeholders of a single-message shape's explicit parent and root flag. */
interface BranchPlaceholders {
  readonly parent: string;
  readonly root: string;
}

/**
 * The parent a single-message shape writes, given the conversation's owner and id expressions
 * and the placeholders of the explicit parent and the root flag: the explicit parent, else the
 * conversation's chosen active leaf (`leafCte`) when it is a message of the conversation, else
 * NULL (the implicit parent: the previous message). Only a message of the same conversation is
 * found; a missing explicit parent makes the shape insert nothing (see `parentGuard`).
 */
function parentCte(
  table: (name: string) => string,
  owner: string,
  conversationId: string,
  placeholders: BranchPlaceholders,
): string {
  return `parent as (
  select m.id from ${table('chat_messages')} m
  where m.user_id = ${owner} and m.conversation_id = ${conversationId}
    and m.id = case when ${placeholders.root} then null else coalesce(${placeholders.parent}, (select id from leaf)) end
)`;
}

/** The leaf CTEs of a single-message shape: the locked leaf and the parent. */
function branchCtes(
  table: (name: string) => string,
  owner: string,
  conversationId: string,
  placeholders: BranchPlaceholders,
): string {
  return `${leafCte(table, owner, conversationId)}, ${parentCte(table, owner, conversationId, placeholders)}`;
}

/**
 * The condition under which a single-message shape inserts: no explicit parent, or a found one; and
 * the leaf it continues is current (`staleSelect`: inline, not a CTE, for the fewest plan nodes
 * on the hot path, where `leaf` is empty and the check costs one empty scan).
 */
function parentGuard(placeholders: BranchPlaceholders, snapshotLeaf: string): string {
  const { parent, root } = placeholders;
  return `(${parent} is null or exists (select 1 from parent))
    and not exists (${staleSelect(`${parent} is null and not ${root}`, 'exists (select 1 from parent)', snapshotLeaf)})`;
}

/**
 * The tail of every single-message shape: bump the conversation's last_message_at (at most once a
 * second; with a client id, only when a row was inserted), then return the row. `owner`,
 * `conversationId` / `now` are the expressions of those values. The `lean` shapes' update only
 * bumps last_message_at, only after a write, and never moves a leaf.
 */
function tail(
  table: (name: string) => string,
  owner: string,
  conversationId: string,
  now: string,
  shape: ClientIdShape,
  lean = false,
): string {
  const usage = shape.usage === undefined ? '' : usageSql(table, shape.usage, now);
  const touch = lean
    ? `update ${table('conversations')} c set last_message_at = ${now}
  where c.user_id = ${owner} and c.id = ${conversationId} and c.last_message_at < ${now} - interval '1 second'`
    : touchSql(table, owner, conversationId, now);
  const written = lean || shape.clientId !== undefined ? '\n    and exists (select 1 from inserted)' : '';
  const touched = `${usage}, touched as (
  ${touch}${written}
)
select ${LEAN_COLUMNS}, false as existing from inserted`;
  return shape.clientId === undefined
    ? touched
    : `${touched}
union all
select ${LEAN_COLUMNS}, true from ${table('chat_messages')}
where user_id = ${owner} and client_id = ${shape.clientId}`;
}

/** The explicit parent and root flag placeholders of the given-conversation shapes. */
const CONVERSATION_BRANCH = { parent: '$9::bigint', root: '$10::boolean' } as const;
/** The same of the default-conversation shapes. */
const DEFAULT_BRANCH = { parent: '$8::bigint', root: '$9::boolean' } as const;

/**
 * One message into a given conversation. Scalar parameters only, so the planner estimates one row
 * whatever the values and PostgreSQL settles on a generic plan after its five custom ones: every
 * table is reached by a unique index (the caller's participation on conversation_participants_pkey;
 * the owner and $2 on conversations_pkey; the client id on chat_messages_client_id_key), never
 * scanned. Participation is the check: a caller who is not an owner or member of the conversation
 * finds no `access` row, so nothing is inserted (the caller then explains why). The message is
 * stored under the owner's key, with the caller as its author.
 * $1 user (the author), $2 conversation, $3 client id (null in the shape without), $4 role,
 * $5 content, $6 metadata, $7 language, $8 now, $9 explicit parent (or null), $10 root flag,
 * $11 pinned, $12 parts, $13 parts' searchable text, $14 search tokens (null in clear), then the
 * usage record's ten, from $15.
 */
function intoConversationSql(table: (name: string) => string, shape: ClientIdShape): string {
  const owner = '(select owner_id from access)';
  return `with access as (
  select owner_id from ${table('conversation_participants')}
  where conversation_id = $2::uuid and user_id = $1::uuid and role <> 'viewer'
), ${branchCtes(table, owner, '$2::uuid', CONVERSATION_BRANCH)}, inserted as (
  ${insertSql(
    table,
    `select $1::uuid, owner_id, $2::uuid, $3::text, $4::text, $5::text, $6::jsonb, $7::regconfig, $8::timestamptz,
    (select id from parent), $10::boolean, $11::boolean, $12::jsonb, to_tsvector($7::regconfig, $13::text), $14::bigint[]
  from access where ${parentGuard(
    CONVERSATION_BRANCH,
    `(select active_leaf_id from ${table('conversations')} where user_id = ${owner} and id = $2::uuid)`,
  )}`,
    shape,
  )}
)${tail(table, owner, '$2::uuid', '$8::timestamptz', shape)}`;
}

/**
 * The lean form of {@link intoConversationSql} for the common case: no explicit parent, no root
 * flag, and a conversation without a chosen active leaf (its newest message is its leaf, so the
 * message's parent is implicit and nothing needs locking). The shape checks that last condition
 * itself: when the conversation has a chosen leaf in the statement's snapshot it writes nothing
 * and returns no row, and the caller runs the full shape (see `insertSealed`). The conversation's
 * update only bumps `last_message_at`, and only after a write: it never moves a leaf. A leaf
 * chosen by a transaction that commits while this statement runs is left as chosen, with this
 * message under the implicit parent, as if the append had committed first.
 * Same parameters as {@link intoConversationSql} ($9 and $10 are null and false).
 */
function intoConversationLeanSql(table: (name: string) => string, shape: ClientIdShape): string {
  const owner = '(select owner_id from access)';
  return `with access as (
  select owner_id from ${table('conversation_participants')}
  where conversation_id = $2::uuid and user_id = $1::uuid and role <> 'viewer'
), inserted as (
  ${insertSql(
    table,
    `select $1::uuid, owner_id, $2::uuid, $3::text, $4::text, $5::text, $6::jsonb, $7::regconfig, $8::timestamptz,
    $9::bigint, $10::boolean, $11::boolean, $12::jsonb, to_tsvector($7::regconfig, $13::text), $14::bigint[]
  from access where not exists (select 1 from ${table('conversations')}
    where user_id = ${owner} and id = $2::uuid and active_leaf_id is not null)`,
    shape,
  )}
)${tail(table, owner, '$2::uuid', '$8::timestamptz', shape, true)}`;
}

/**
 * One message into the user's default conversation: the lookup is an index scan of
 * conversations_default_key. When the user has none yet, the message lacks a conversation and the
 * NOT NULL constraint fails the statement; the caller then creates the default conversation (with
 * its audit entry) and runs the statement again (see insert-messages.ts).
 * $1 user, $2 client id (null in the shape without), $3 role, $4 content, $5 metadata,
 * $6 language, $7 now, $8 explicit parent (or null), $9 root flag, $10 pinned, $11 parts,
 * $12 parts' searchable text, $13 search tokens (null in clear), then the usage record's ten, from $14.
 */
function intoDefaultSql(table: (name: string) => string, shape: ClientIdShape): string {
  return `with found as (
  select id, active_leaf_id from ${table('conversations')} where user_id = $1::uuid and is_default
), ${branchCtes(table, '$1::uuid', '(select id from found)', DEFAULT_BRANCH)}, inserted as (
  ${insertSql(
    table,
    `select $1::uuid, $1::uuid, (select id from found), $2::text, $3::text,
    $4::text, $5::jsonb, $6::regconfig, $7::timestamptz, (select id from parent), $9::boolean, $10::boolean,
    $11::jsonb, to_tsvector($6::regconfig, $12::text), $13::bigint[]
  where ${parentGuard(DEFAULT_BRANCH, '(select active_leaf_id from found)')}`,
    shape,
  )}
)${tail(table, '$1::uuid', '(select conversation_id from inserted)', '$7::timestamptz', shape)}`;
}

/**
 * The lean form of {@link intoDefaultSql} (see {@link intoConversationLeanSql}): writes nothing
 * when the default conversation has a chosen leaf. A user without a default conversation still
 * fails the NOT NULL constraint, as in the full shape. Same parameters ($8 and $9 are null and
 * false).
 */
function intoDefaultLeanSql(table: (name: string) => string, shape: ClientIdShape): string {
  return `with found as (
  select id, active_leaf_id from ${table('conversations')} where user_id = $1::uuid and is_default
), inserted as (
  ${insertSql(
    table,
    `select $1::uuid, $1::uuid, (select id from found), $2::text, $3::text,
    $4::text, $5::jsonb, $6::regconfig, $7::timestamptz, $8::bigint, $9::boolean, $10::boolean,
    $11::jsonb, to_tsvector($6::regconfig, $12::text), $13::bigint[]
  where (select active_leaf_id from found) is null`,
    shape,
  )}
)${tail(table, '$1::uuid', '(select conversation_id from inserted)', '$7::timestamptz', shape, true)}`;
}

/**
 * The ten parameters of a usage record, in the order of the usage CTE's columns (provider, model,
 * input, output, cached and reasoning tokens, cost, currency, latency, status), token counts
 * defaulting to 0.
 */
export function usageParameters(record: ChatUsageRecord): unknown[] {
  return [
    record.provider,
    record.model,
    record.inputTokens ?? 0,
    record.outputTokens ?? 0,
    record.cachedTokens ?? 0,
    record.reasoningTokens ?? 0,
    record.cost ?? null,
    record.currency ?? null,
    record.latencyMs ?? null,
    record.status,
  ];
}

/**
 * The single-message append: one of the fixed shapes (a given or the default conversation, with
 * or without a client id, with or without usage; the full or, with `lean`, the lean form), each a
 * named prepared statement.
 */
export function appendOneQuery(
  ctx: RepositoryContext,
  message: NewMessage,
  now: Date,
  lean = false,
): PreparedQuery<LeanAppendedRow> {
  const language = ctx.config.chat.searchLanguage;
  const common = [
    message.clientId ?? null,
    message.role,
    message.content,
    message.metadata,
    language,
    now,
    message.parentId ?? null,
    message.root ?? false,
    message.pinned ?? false,
    message.parts,
    message.partsSearch,
    message.searchTokens ?? null,
  ];
  const withId = message.clientId !== undefined;
  const record = message.usage;
  const usage = record === undefined ? [] : usageParameters(record);
  const suffix = `${withId ? '-client-id' : ''}${record === undefined ? '' : '-usage'}`;
  return message.conversationId === undefined
    ? preparedQuery(
        ctx,
        `append-one-default${lean ? '-lean' : ''}${suffix}`,
        (t) =>
          (lean ? intoDefaultLeanSql : intoDefaultSql)(t, {
            clientId: withId ? '$2::text' : undefined,
            usage: record === undefined ? undefined : 14,
          }),
        [message.userId, ...common, ...usage],
      )
    : preparedQuery(
        ctx,
        `append-one${lean ? '-lean' : ''}${suffix}`,
        (t) =>
          (lean ? intoConversationLeanSql : intoConversationSql)(t, {
            clientId: withId ? '$3::text' : undefined,
            usage: record === undefined ? undefined : 15,
          }),
        [message.userId, message.conversationId, ...common, ...usage],
      );
}

/**
 * Whether `message` may take a lean shape ({@link intoConversationLeanSql},
 * {@link intoDefaultLeanSql}): no explicit parent, no root flag.
 */
export function leanEligible(message: NewMessage): boolean {
  return message.parentId === undefined && message.root !== true;
}
