import { sql } from 'kysely';
import {
  ConflictError,
  ConstraintViolationError,
  isCarebaseError,
  ValidationError,
} from '../../errors/errors.js';
import { runTransaction } from '../../pool/transaction.js';
import type { RepositoryContext } from '../context.js';
import {
  type AppendedRow,
  appendOneQuery,
  MESSAGE_COLUMNS as COLUMNS,
  type NewMessage,
} from './append-one.js';
import { type ChatMessage, type MessageRow, toChatMessage } from './chat-types.js';
import { explainReferenceFailure } from './ownership.js';
import { forgetDefaultConversations, openMessageRows, sealNewMessages } from './sealed-rows.js';
import { preparedQuery } from './sql-text.js';

export type { NewMessage };

/**
 * The whole append path in one statement: unnest the batch, create missing default conversations
 * (ON CONFLICT on the partial unique index, race-free), insert the messages in input order with
 * ON CONFLICT DO NOTHING on (user_id, client_id), bump the conversations' last_message_at, and
 * return the inserted rows plus the already-present rows of retried client ids.
 *
 * last_message_at is kept to one-second resolution: a burst of appends to one conversation (a
 * question and its streamed answer) rewrites the conversation row once, not per message, which
 * keeps the conversation's indexes and row lock out of the hot path.
 */
function insertSql(table: (name: string) => string, returning: boolean): string {
  const conversations = table('conversations');
  const messages = table('chat_messages');
  return `with input as (
  select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
    with ordinality as t(user_id, conversation_id, client_id, role, content, metadata, ord)
), new_defaults as (
  insert into ${conversations} (user_id, is_default, last_message_at, created_at, updated_at)
  select distinct user_id, true, $7::timestamptz, $7::timestamptz, $7::timestamptz
  from input where conversation_id is null
  on conflict (user_id) where is_default do nothing
  returning user_id, id
), resolved as (
  select i.*, coalesce(i.conversation_id, n.id, d.id) as target
  from input i
  left join new_defaults n on i.conversation_id is null and n.user_id = i.user_id
  left join ${conversations} d on i.conversation_id is null and d.user_id = i.user_id and d.is_default
), inserted as (
  insert into ${messages} (user_id, conversation_id, client_id, role, content, metadata, language, created_at)
  select user_id, target, client_id, role, content, metadata::jsonb, $8::regconfig, $7::timestamptz
  from resolved order by ord
  on conflict (user_id, client_id) where client_id is not null do nothing
  returning ${COLUMNS}
), touched as (
  update ${conversations} c set last_message_at = $7::timestamptz
  from (select distinct user_id, conversation_id from inserted) t
  where c.user_id = t.user_id and c.id = t.conversation_id
    and c.last_message_at < $7::timestamptz - interval '1 second'
)
${
  returning
    ? `select ${COLUMNS}, false as existing from inserted
union all
select e.id, e.user_id, e.conversation_id, e.client_id, e.role, e.content, e.metadata, e.created_at, true
from ${messages} e join input i on e.user_id = i.user_id and e.client_id = i.client_id`
    : 'select count(*)::int as inserted from inserted'
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
  ];
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
 * Runs `run` once more when it fails because a concurrent writer created the same default
 * conversation between our snapshot and our insert (the message then lacks a conversation), and
 * turns foreign-key failures into NotFoundError / ForbiddenError.
 */
async function withRetries<T>(
  ctx: RepositoryContext,
  batch: readonly NewMessage[],
  run: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      // Inside a transaction, in a savepoint: a failure rolls back to it, so the reference check
      // below can run on the transaction's own connection (never a second one).
      return ctx.inTransaction ? await runTransaction(ctx.db, run, {}, ctx.config.logger) : await run();
    } catch (error) {
      // Inside a transaction the savepoint was rolled back, so the retry runs there too (with a
      // fresh snapshot under read committed).
      if (
        attempt === 0 &&
        error instanceof ConstraintViolationError &&
        error.kind === 'not_null' &&
        error.column === 'conversation_id'
      ) {
        continue;
      }
      if (error instanceof ConstraintViolationError && error.kind === 'foreign_key') {
        await explainReferenceFailure(ctx, batch);
      }
      throw error;
    }
  }
}

/**
 * Inserts `batch` in one statement and returns one message per input, in input order: the new
 * row, or for a client id already present the existing row. Throws `ConflictError` (field `id`)
 * when a client id is reused for different content, `ForbiddenError` / `NotFoundError` for a
 * conversation the user does not own / that does not exist.
 */
export async function insertMessages(
  ctx: RepositoryContext,
  batch: readonly NewMessage[],
): Promise<ChatMessage[]> {
  if (batch.length === 0) return [];
  assertUniqueClientIds(batch);
  const now = ctx.now();
  const rows = await openMessageRows(ctx, await insertSealed(ctx, batch, now, true));
  const byClientId = new Map<string, AppendedRow>();
  const fresh: MessageRow[] = [];
  for (const row of rows) {
    if (row.client_id !== null) byClientId.set(`${row.user_id}\u0000${row.client_id}`, row);
    else fresh.push(row);
  }
  fresh.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  const missing = batch.filter(
    (m) => m.clientId !== undefined && !byClientId.has(`${m.userId}\u0000${m.clientId}`),
  );
  if (missing.length > 0) {
    // A concurrent retry with the same client id committed after our snapshot: read it now.
    const rows =
      await sql<MessageRow>`select ${sql.raw(COLUMNS)} from ${sql.id(ctx.config.schema, 'chat_messages')}
      where (user_id, client_id) in (select * from unnest(${missing.map((m) => m.userId)}::uuid[], ${missing.map((m) => m.clientId)}::text[]))`.execute(
        ctx.db,
      );
    for (const row of await openMessageRows(ctx, rows.rows))
      byClientId.set(`${row.user_id}\u0000${row.client_id}`, { ...row, existing: true });
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
        (message.conversationId !== undefined && row.conversation_id !== message.conversationId))
    ) {
      throw new ConflictError('id', 'chat_messages_client_id_key');
    }
    return toChatMessage(row);
  });
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
 * Runs the insert of `batch` at `now` with its values sealed when encryption is on (see
 * sealed-rows.ts). A write to a cached default conversation that has since been deleted fails on
 * its foreign key: the cache is dropped and the write runs once more.
 */
async function insertSealed(
  ctx: RepositoryContext,
  batch: readonly NewMessage[],
  now: Date,
  returning: boolean,
): Promise<AppendedRow[]> {
  for (let attempt = 0; ; attempt++) {
    const { stored, defaulted } = await sealNewMessages(ctx, batch, now);
    const [single] = stored;
    // One message (append): a fixed-shape statement with scalar parameters that runs on a generic
    // plan; a batch: the unnest statement.
    const query = !returning
      ? preparedQuery<AppendedRow>(ctx, 'import', (t) => insertSql(t, false), parameters(ctx, stored, now))
      : stored.length === 1 && single !== undefined
        ? appendOneQuery(ctx, single, now)
        : preparedQuery<AppendedRow>(ctx, 'append', (t) => insertSql(t, true), parameters(ctx, stored, now));
    try {
      return await withRetries(ctx, stored, () => ctx.runPrepared<AppendedRow>(query));
    } catch (error) {
      if (attempt > 0 || !defaulted || !isCarebaseError(error, 'NOT_FOUND')) throw error;
      forgetDefaultConversations(
        ctx,
        batch.map((m) => m.userId),
      );
    }
  }
}
