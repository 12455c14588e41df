import { sql } from 'kysely';
import {
  ConflictError,
  ConstraintViolationError,
  isCarebaseError,
  NotFoundError,
  SerializationFailureError,
  ValidationError,
} from '../../errors/errors.js';
import { runTransaction } from '../../pool/transaction.js';
import type { JsonValue } from '../../schema/audit.js';
import { recordAudit } from '../audit/record.js';
import { type RepositoryContext, RuntimeState } from '../context.js';
import { LruCache } from '../encryption/data-keys.js';
import { appendGroupOf, groupable } from './append-group.js';
import {
  type AppendedRow,
  appendOneQuery,
  type LeanAppendedRow,
  leanEligible,
  type NewMessage,
  staleSelect,
  touchSql,
} from './append-one.js';
import {
  type ChatMessage,
  MESSAGE_ROW_COLUMNS as COLUMNS,
  type MessageRow,
  toChatMessage,
} from './chat-types.js';
import type { StoredParts } from './check-parts.js';
import { explainReferenceFailure } from './ownership.js';
import { forgetDefaultConversations, openMessageRows, sealNewMessages } from './sealed-rows.js';
import { preparedQuery } from './sql-text.js';
import { insertUsage } from './usage.js';

export type { NewMessage };

/**
 * The whole append path in one statement: unnest the batch, find each user's default conversation
 * for messages without a conversation (a user without one leaves the message without a
 * conversation: the NOT NULL constraint fails the statement and the caller creates the missing
 * defaults, then runs it again), resolve each message's key (the owner of its
 * conversation, through the caller's participation as owner or member; a message without one gets
 * a NULL key and the NOT NULL constraint fails the whole statement), insert the messages in input
 * order with ON CONFLICT DO NOTHING on (user_id, client_id), bump the conversations'
 * last_message_at, and return the inserted rows plus the already-present rows of retried client
 * ids, each with the caller (`caller_id`) it answers.
 *
 * last_message_at is kept to one-second resolution: a burst of appends to one conversation (a
 * question and its streamed answer) rewrites the conversation row once, not per message, which
 * keeps the conversation's indexes and row lock out of the hot path.
 */
function insertSql(table: (name: string) => string, returning: boolean): string {
  const conversations = table('conversations');
  const messages = table('chat_messages');
  return `with input as (
  select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $9::boolean[],
    $10::text[], $11::text[], $12::text[])
    with ordinality as t(user_id, conversation_id, client_id, role, content, metadata, pinned, parts, parts_search, search_tokens, ord)
), resolved as (
  select i.*, coalesce(i.conversation_id, d.id) as target,
    case when i.conversation_id is null then i.user_id else p.owner_id end as owner_id,
    row_number() over (partition by coalesce(i.conversation_id, d.id) order by i.ord) as position
  from input i
  left join ${conversations} d on i.conversation_id is null and d.user_id = i.user_id and d.is_default
  left join ${table('conversation_participants')} p on i.conversation_id is not null
    and p.conversation_id = i.conversation_id and p.user_id = i.user_id and p.role <> 'viewer'
), leaf as (
  -- The chosen leaves of the conversations written, locked in a fixed order (see leafCte in
  -- append-one.ts).
  select c.user_id, c.id as conversation_id, c.active_leaf_id as id from ${conversations} c
  where c.active_leaf_id is not null
    and (c.user_id, c.id) in (select r.owner_id, r.target from resolved r where r.position = 1)
  order by c.user_id, c.id
  for no key update of c
), stale as (
  ${staleSelect(
    'true',
    `exists (select 1 from ${messages} m where m.user_id = l.user_id and m.conversation_id = l.conversation_id and m.id = l.id)`,
    `(select c.active_leaf_id from ${conversations} c where c.user_id = l.user_id and c.id = l.conversation_id)`,
  )}
), inserted as (
  insert into ${messages} (author_user_id, user_id, conversation_id, client_id, role, content, metadata, language, created_at, parent_id, pinned,
    parts, parts_search, search_tokens)
  select r.user_id, r.owner_id, r.target, r.client_id, r.role, r.content, r.metadata::jsonb, $8::regconfig, $7::timestamptz,
    -- The first message of each conversation goes under its chosen active leaf (when one was
    -- chosen and is a message of it); the others follow the previous one (implicit parent).
    case when r.position = 1 then (select m.id from leaf l
      join ${messages} m on m.user_id = l.user_id and m.conversation_id = l.conversation_id and m.id = l.id
      where l.user_id = r.owner_id and l.conversation_id = r.target) end,
    r.pinned, r.parts::jsonb, to_tsvector($8::regconfig, r.parts_search), r.search_tokens::bigint[]
  from resolved r
  where not exists (select 1 from stale)
  order by r.ord
  on conflict (user_id, client_id) where client_id is not null do nothing
  returning ${COLUMNS}
), touched as (
  ${touchSql(
    table,
    't.user_id',
    't.conversation_id',
    '$7::timestamptz',
    '\n  from (select distinct user_id, conversation_id from inserted) t',
  )}
)
${
  returning
    ? `select ${COLUMNS}, author_user_id as caller_id, false as existing from inserted
union all
select e.id, e.user_id, e.conversation_id, e.client_id, e.role, e.content, e.metadata, e.created_at,
  e.author_user_id, e.parent_id, e.pinned, e.parts, r.user_id, true
from ${messages} e join resolved r on e.user_id = r.owner_id and e.client_id = r.client_id
union all
select ${Array.from({ length: 14 }, () => 'null').join(', ')} from stale`
    : 'select (select count(*)::int from inserted) as inserted, exists (select 1 from stale) as stale'
}`;
}

function parameters(ctx: RepositoryContext, batch: readonly NewMessage[], now: Date): unknown[] {
  return [
    batch.map((m) => m.userId),
    batch.map((m) => m.conversationId ?? null),
    batch.map((m) => m.clientId ?? null),
    batch.map((m) => m.role),
    batch.map((m) => m.content),
    batch.map((m) => m.metadata),
    now,
    ctx.config.chat.searchLanguage,
    batch.map((m) => m.pinned ?? false),
    batch.map((m) => m.parts),
    batch.map((m) => m.partsSearch),
    batch.map((m) => m.searchTokens ?? null),
  ];
}

/** The error of a `parentId` that names no message of the message's conversation. */
export function parentNotFound(field = 'parentId'): ValidationError {
  return new ValidationError(`invalid message: ${field} is not a message of this conversation`, [
    { path: [field], message: 'must be the id of a message in the same conversation', code: 'custom' },
  ]);
}

function assertUniqueClientIds(batch: readonly NewMessage[]): void {
  const seen = new Set<string>();
  batch.forEach((message, index) => {
    if (message.clientId === undefined) return;
    const key = `${message.userId}\u0000${message.clientId}`;
    if (seen.has(key)) {
      throw new ValidationError(`invalid messages at ${index}.id: repeated within the batch`, [
        { path: [index, 'id'], message: 'the same id appears twice for this user', code: 'duplicate_id' },
      ]);
    }
    seen.add(key);
  });
}

/**
 * Creates the default conversation of each of `userIds` that has none (ON CONFLICT on the partial
 * unique index: race-free, a concurrent creator wins), each with its `chat.conversation_create`
 * audit entry, in one transaction. Throws `NotFoundError('user')` for an unknown user.
 */
async function createDefaultConversations(ctx: RepositoryContext, userIds: readonly string[]): Promise<void> {
  await ctx.atomic(async (tx) => {
    const now = tx.now();
    let created: { id: string; user_id: string }[];
    try {
      created = await tx.db
        .insertInto('conversations')
        .values(
          [...new Set(userIds)].map((userId) => ({
            user_id: userId,
            is_default: true,
            last_message_at: now,
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((conflict) => conflict.column('user_id').where('is_default', '=', true).doNothing())
        .returning(['id', 'user_id'])
        .execute();
    } catch (error) {
      if (error instanceof ConstraintViolationError && error.kind === 'foreign_key') {
        throw new NotFoundError('user', { cause: error });
      }
      throw error;
    }
    for (const row of created) {
      await recordAudit(tx, {
        action: 'chat.conversation_create',
        resourceType: 'conversation',
        resourceId: row.id,
        subjectId: row.user_id,
        metadata: { default: true },
      });
    }
  });
}

/**
 * Runs `run`, and once more after creating the default conversations it found missing (the
 * message then lacks a conversation; also when a concurrent writer created one after our
 * snapshot), and turns foreign-key failures into NotFoundError / ForbiddenError.
 */
async function withRetries<T>(
  ctx: RepositoryContext,
  batch: readonly NewMessage[],
  run: (ctx: RepositoryContext) => Promise<T>,
  retried = false,
): Promise<T> {
  try {
    // Inside a transaction, in a savepoint: a failure rolls back to it, so the reference check
    // below can run on the transaction's own connection (never a second one).
    return ctx.inTransaction
      ? await runTransaction(ctx.db, () => run(ctx), {}, ctx.config.logger)
      : await run(ctx);
  } catch (error) {
    if (
      !retried &&
      error instanceof ConstraintViolationError &&
      error.kind === 'not_null' &&
      error.column === 'conversation_id'
    ) {
      // Create the missing default conversations and write again, in one transaction: when the
      // write still fails, neither the conversations nor their audit entries remain.
      const users = batch.flatMap((message) =>
        message.conversationId === undefined ? [message.userId] : [],
      );
      return ctx.atomic(async (tx) => {
        await createDefaultConversations(tx, users);
        return withRetries(tx, batch, run, true);
      });
    }
    // A foreign key, or no key (user_id NULL: the caller may not write to the conversation).
    if (
      error instanceof ConstraintViolationError &&
      (error.kind === 'foreign_key' || (error.kind === 'not_null' && error.column === 'user_id'))
    ) {
      await explainReferenceFailure(ctx, batch);
    }
    throw error;
  }
}

/**
 * Inserts `batch` in one statement and returns one message per input, in input order: the new
 * row, or for a client id already present the existing row. Throws `ConflictError` (field `id`)
 * when a client id is reused for different content, `ForbiddenError` / `NotFoundError` for a
 * conversation the user does not own / that does not exist.
 */
export function insertMessages(ctx: RepositoryContext, batch: readonly NewMessage[]): Promise<ChatMessage[]> {
  const audited = ctx.config.audit.chatWrites === 'messages';
  const usage = batch.some((message) => message.usage !== undefined);
  // One message: its usage is written by the append statement itself (append-one.ts), one round
  // trip and no explicit transaction.
  if (batch.length === 0 || (!audited && (!usage || batch.length === 1))) return insertBatch(ctx, batch);
  // `audit.chatWrites: 'messages'` or a batch with usage: the messages, their usage and their audit
  // entries commit together (a usage write that fails fails the call).
  return ctx.atomic(async (tx) => {
    const messages = await insertBatch(
      tx,
      batch.map(({ usage: _, ...message }) => message),
    );
    if (usage) {
      await insertUsage(
        tx,
        messages,
        batch.map((message) => message.usage),
      );
    }
    if (audited) await auditAppends(tx, messages);
    return messages;
  });
}

/** At most this many message ids are listed in one `chat.message_append` entry. */
const AUDITED_IDS = 1000;

/**
 * One `chat.message_append` audit entry per conversation of `messages`: how many, their ids, roles
 * and authors, never their content.
 */
async function auditAppends(ctx: RepositoryContext, messages: readonly ChatMessage[]): Promise<void> {
  const byConversation = new Map<string, ChatMessage[]>();
  for (const message of messages) {
    const list = byConversation.get(message.conversationId) ?? [];
    list.push(message);
    byConversation.set(message.conversationId, list);
  }
  for (const [conversationId, list] of byConversation) {
    const roles: Record<string, number> = {};
    for (const message of list) roles[message.role] = (roles[message.role] ?? 0) + 1;
    await recordAudit(ctx, {
      action: 'chat.message_append',
      resourceType: 'conversation',
      resourceId: conversationId,
      subjectId: (list[0] as ChatMessage).userId,
      metadata: {
        messages: list.length,
        messageIds: list.slice(0, AUDITED_IDS).map((message) => message.id),
        ...(list.length > AUDITED_IDS ? { messageIdsTruncated: true } : {}),
        roles,
        authorUserIds: [...new Set(list.map((message) => message.authorUserId))],
      },
    });
  }
}

async function insertBatch(ctx: RepositoryContext, batch: readonly NewMessage[]): Promise<ChatMessage[]> {
  if (batch.length === 0) return [];
  assertUniqueClientIds(batch);
  const now = ctx.now();
  const [single] = batch;
  const inserted = await insertSealed(ctx, batch, now, true);
  let rows: AppendedRow[];
  if (batch.length === 1 && single !== undefined) {
    // One message: the statement returned only what the server decided (LeanAppendedRow).
    const row = inserted[0] as LeanAppendedRow | undefined;
    if (row !== undefined && !row.existing) return [appendedMessage(single, row, now)];
    // The row already stored under the client id: read in full below, as a concurrent retry's is.
    rows = [];
  } else rows = await openMessageRows(ctx, inserted as AppendedRow[]);
  // A row answers the caller it names (`caller_id`; the single shapes answer their one caller).
  const callerOf = (row: AppendedRow): string => row.caller_id ?? (single as NewMessage).userId;
  const byClientId = new Map<string, AppendedRow>();
  const fresh: MessageRow[] = [];
  for (const row of rows) {
    if (row.client_id !== null) byClientId.set(`${callerOf(row)}\u0000${row.client_id}`, row);
    else fresh.push(row);
  }
  fresh.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  const missing = batch.filter(
    (m) => m.clientId !== undefined && !byClientId.has(`${m.userId}\u0000${m.clientId}`),
  );
  if (missing.length > 0) {
    // A concurrent retry with the same client id committed after our snapshot: read it now, under
    // the key of its conversation's owner.
    const rows =
      await sql<AppendedRow>`select ${sql.raw(COLUMNS.replace(/(^|, )/g, '$1m.'))}, x.user_id as caller_id
      from unnest(${missing.map((m) => m.userId)}::uuid[], ${missing.map((m) => m.conversationId ?? null)}::uuid[],
        ${missing.map((m) => m.clientId)}::text[]) as x(user_id, conversation_id, client_id)
      join ${sql.id(ctx.config.schema, 'chat_messages')} m on m.client_id = x.client_id
        and m.user_id = coalesce((select p.owner_id from ${sql.id(ctx.config.schema, 'conversation_participants')} p
          where p.conversation_id = x.conversation_id and p.user_id = x.user_id), x.user_id)`.execute(ctx.db);
    for (const row of await openMessageRows(ctx, rows.rows))
      byClientId.set(`${callerOf(row)}\u0000${row.client_id}`, { ...row, existing: true });
  }
  let next = 0;
  return batch.map((message) => {
    if (message.clientId === undefined) {
      const row = fresh[next++];
      if (row === undefined) throw new Error('carebase: inserted row missing from the result');
      return toChatMessage(row);
    }
    const row = byClientId.get(`${message.userId}\u0000${message.clientId}`);
    if (row === undefined) throw new Error('carebase: retried row missing from the result');
    if (
      row.existing &&
      (row.role !== message.role ||
        row.content !== message.content ||
        (row.author_user_id ?? row.user_id) !== message.userId ||
        (message.conversationId !== undefined && row.conversation_id !== message.conversationId))
    ) {
      throw new ConflictError('id', 'chat_messages_client_id_key');
    }
    return toChatMessage(row);
  });
}

/**
 * The message a single-message append wrote: the caller's input (in clear, before any sealing)
 * with what the server decided. Metadata and parts are parsed from the serialized values written,
 * so the caller gets its own copy, as it would from a read.
 */
function appendedMessage(message: NewMessage, row: LeanAppendedRow, now: Date): ChatMessage {
  return {
    id: row.id,
    userId: row.user_id,
    authorUserId: message.userId,
    conversationId: row.conversation_id,
    clientId: message.clientId ?? null,
    role: message.role,
    content: message.content,
    parts: message.parts === null ? null : (JSON.parse(message.parts) as StoredParts).parts,
    metadata: message.metadata === null ? null : (JSON.parse(message.metadata) as JsonValue),
    createdAt: now,
    parentId: row.parent_id,
    pinned: message.pinned ?? false,
  };
}

/**
 * Inserts `batch` in one statement and returns how many rows were new (the rest were already
 * present under the same client ids). The import path: no rows come back over the wire.
 */
export async function insertMessagesCounting(
  ctx: RepositoryContext,
  batch: readonly NewMessage[],
): Promise<number> {
  if (batch.length === 0) return 0;
  assertUniqueClientIds(batch);
  const rows = await insertSealed(ctx, batch, ctx.now(), false);
  return (rows[0] as { inserted?: number } | undefined)?.inserted ?? 0;
}

/**
 * Conversations this instance saw with a chosen active leaf (an append's lean shape wrote nothing
 * there, and the full shape did): their single-message appends skip the lean shape. Only a hint:
 * the lean shape checks for a chosen leaf itself, and the full shape is right for every
 * conversation, so a stale or evicted entry costs at most one statement.
 */
const CHOSEN_LEAVES = new RuntimeState('chat chosen leaves', () => new LruCache<true>(10_000));

/**
 * How many times a write to a chosen branch runs again after a concurrent append moved the branch's
 * leaf while it waited (see `staleSelect`). Each rerun means another append committed first, so the
 * count is bounded by the writers of one conversation that race at once.
 */
const MAX_STALE_RUNS = 100;

/** Whether the batch statement wrote nothing because a leaf it continues moved (its marker row). */
function isStale(rows: readonly (AppendedRow | LeanAppendedRow | { stale?: boolean })[]): boolean {
  return rows.some((row) => ('stale' in row ? row.stale === true : (row as { id: unknown }).id === null));
}

/**
 * Runs the insert of `batch` at `now` with its values sealed when encryption is on (see
 * sealed-rows.ts). A write to a cached default conversation that has since been deleted fails on
 * its foreign key: the cache is dropped and the write runs once more. A write that continues a
 * chosen branch whose leaf a concurrent append moved runs again (it wrote nothing).
 */
async function insertSealed(
  ctx: RepositoryContext,
  batch: readonly NewMessage[],
  now: Date,
  returning: boolean,
): Promise<(AppendedRow | LeanAppendedRow)[]> {
  let stale = 0;
  const chosen = ctx.runtime.state(CHOSEN_LEAVES);
  const [first] = batch;
  const eligible = returning && batch.length === 1 && first !== undefined && leanEligible(first);
  // The hint's key: the conversation, or the user's default conversation.
  const hintKey = first === undefined ? '' : (first.conversationId ?? `default\u0000${first.userId}`);
  // The lean shape, unless this instance saw the conversation with a chosen leaf.
  let lean = eligible && chosen.get(hintKey) === undefined;
  // Concurrent lean appends go in one group statement (append-group.ts), tried once.
  let grouping = lean;
  // A lone append's slot in the group, released once this call's statements settled.
  let release = (): void => undefined;
  try {
    for (let attempt = 0; ; ) {
      const { stored, defaulted } = await sealNewMessages(ctx, batch, now);
      const [single] = stored;
      if (grouping && single !== undefined && groupable(ctx, single)) {
        grouping = false;
        const outcome = await appendGroupOf(ctx.runtime).append(ctx, single, now);
        // Not written by a group: alone, by the single shapes below.
        if (outcome.row !== undefined) return [outcome.row];
        release = outcome.done;
      }
      // One message (append): a fixed-shape statement with scalar parameters that runs on a generic
      // plan; a batch: the unnest statement.
      const query = !returning
        ? preparedQuery<AppendedRow>(ctx, 'import', (t) => insertSql(t, false), parameters(ctx, stored, now))
        : stored.length === 1 && single !== undefined
          ? appendOneQuery(ctx, single, now, lean)
          : preparedQuery<AppendedRow | LeanAppendedRow>(
              ctx,
              'append',
              (t) => insertSql(t, true),
              parameters(ctx, stored, now),
            );
      try {
        const rows = await withRetries(ctx, stored, (c) =>
          c.runPrepared<AppendedRow | LeanAppendedRow>(query),
        );
        if (isStale(rows)) {
          if (++stale >= MAX_STALE_RUNS) throw new SerializationFailureError('40001');
          continue;
        }
        if (lean && rows.length === 0) {
          // The lean shape wrote nothing: the conversation has a chosen leaf, or the caller may not
          // write to it, or a concurrent retry holds the client id. The full shape tells which.
          lean = false;
          continue;
        }
        // The full shape wrote where the lean one could not (or was not tried): remember the
        // conversation, so its next appends go straight to the full shape.
        if (eligible && !lean && rows.length > 0) chosen.set(hintKey, true);
        if (returning && rows.length === 0 && single !== undefined && stored.length === 1) {
          // The single shapes return nothing when the caller may not write to the conversation
          // (this throws; NotFoundError for a deleted cached default conversation, retried below),
          await explainReferenceFailure(ctx, stored);
          // or the explicit parent is not a message of the conversation (the shape inserts nothing),
          if (single.parentId !== undefined) throw parentNotFound();
          // or the chosen leaf it continues moved while it waited (staleSelect), or a concurrent retry
          // committed its client id after the snapshot: run again, with a fresh snapshot.
          if (++stale < MAX_STALE_RUNS) continue;
          throw new SerializationFailureError('40001');
        }
        return rows;
      } catch (error) {
        if (attempt > 0 || !defaulted || !isCarebaseError(error, 'NOT_FOUND')) throw error;
        attempt++;
        forgetDefaultConversations(
          ctx,
          batch.map((m) => m.userId),
        );
      }
    }
  } finally {
    release();
  }
}
