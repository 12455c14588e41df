import { ForbiddenError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { ParticipantRole } from '../../schema/chat.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import type { NewMessage } from './append-one.js';
import {
  type ChatMessage,
  MESSAGE_ROW_COLUMNS,
  type MessageRow,
  messageRowOf,
  toChatMessage,
} from './chat-types.js';
import { insertMessages, parentNotFound } from './insert-messages.js';
import { assertParticipant, type ChatAccess } from './ownership.js';
import { openMessageRows } from './sealed-rows.js';
import { ARRAY_ROWS, preparedQuery } from './sql-text.js';
import type { ChatSiblings } from './tree-inputs.js';
import type { ChatUsageRecord } from './usage-inputs.js';

/**
 * Message trees (docs/chat.md): a message's parent is `parent_id`, or when that is NULL the
 * previous message of its conversation in (created_at, id) order (the implicit parent of plain
 * appends and of every message written before trees), unless `is_root` marks an explicit root.
 * Cycles cannot be built: a parent exists before its child, so its id is smaller, and an implicit
 * parent is strictly earlier.
 */

const ALLOWED: Record<ChatAccess, readonly ParticipantRole[]> = {
  read: ['owner', 'member', 'viewer'],
  write: ['owner', 'member'],
  owner: ['owner'],
};

/** A message found for a tree call, with what the caller may do. */
export interface FoundMessage {
  readonly row: MessageRow & { readonly is_root: boolean };
  /** The conversation's owner: the key of its messages. */
  readonly ownerId: string;
}

type FoundRow = MessageRow & { is_root: boolean; participant_role: ParticipantRole | null };

/**
 * Finds `messageId` for `userId` with `access`. With `conversationId`: one probe under the key its
 * participation gives; `NotFoundError('message')` when the conversation has no such message.
 * Without: the message among the conversations of the owners the caller shares a conversation
 * with (one primary-key probe per such owner). A message the caller cannot see, whether it exists
 * or not, is `ForbiddenError('message')`: carebase does not tell strangers which ids exist. A
 * participant whose role does not allow `access` (a viewer writing) gets `ForbiddenError`.
 */
export async function findMessage(
  ctx: RepositoryContext,
  userId: string,
  messageId: string,
  conversationId: string | undefined,
  access: ChatAccess,
): Promise<FoundMessage> {
  const columns = MESSAGE_ROW_COLUMNS.replace(/(^|, )/g, '$1m.');
  const query =
    conversationId === undefined
      ? preparedQuery<FoundRow>(
          ctx,
          'tree-find',
          (t) => `select ${columns}, m.is_root, p.role as participant_role
from ${t('chat_messages')} m
left join ${t('conversation_participants')} p on p.conversation_id = m.conversation_id and p.user_id = $1::uuid
where m.user_id in (select owner_id from ${t('conversation_participants')} where user_id = $1::uuid)
  and m.id = $2::bigint`,
          [userId, messageId],
        )
      : preparedQuery<FoundRow>(
          ctx,
          'tree-find-conversation',
          (t) => `select ${columns}, m.is_root, p.role as participant_role
from ${t('conversation_participants')} p
join ${t('chat_messages')} m on m.user_id = p.owner_id and m.conversation_id = p.conversation_id
  and m.id = $2::bigint
where p.conversation_id = $3::uuid and p.user_id = $1::uuid`,
          [userId, messageId, conversationId],
        );
  const [found] = await ctx.runPrepared<FoundRow>(query);
  if (found === undefined) {
    if (conversationId === undefined) throw new ForbiddenError('message');
    await assertParticipant(ctx, userId, conversationId, access);
    throw new NotFoundError('message');
  }
  if (found.participant_role === null || !ALLOWED[access].includes(found.participant_role)) {
    throw new ForbiddenError('conversation');
  }
  const { participant_role: _, ...row } = found;
  const [opened] = await openMessageRows(ctx, [row]);
  return { row: opened as FoundMessage['row'], ownerId: row.user_id };
}

/** Where a message hangs: under a parent, or as a root. */
export type Placement = { readonly parentId: string } | { readonly root: true };

/**
 * The parent of `message`: its `parent_id`, none for an explicit root, else (implicit) the previous
 * message of its conversation, none for its oldest message. One index probe at most
 * (chat_messages_history_idx, backwards, one row).
 */
export async function placementOf(ctx: RepositoryContext, message: FoundMessage['row']): Promise<Placement> {
  if (message.parent_id !== null) return { parentId: message.parent_id };
  if (message.is_root) return { root: true };
  const query = preparedQuery<{ id: string }>(
    ctx,
    'tree-previous',
    // The message's time as an InitPlan, so the row comparison is an index condition.
    (t) => `select p.id from ${t('chat_messages')} p
where p.user_id = $1::uuid and p.conversation_id = $2::uuid
  and (p.created_at, p.id) < ((select created_at from ${t('chat_messages')} where user_id = $1::uuid and id = $3::bigint), $3::bigint)
order by p.created_at desc, p.id desc limit 1`,
    [message.user_id, message.conversation_id, message.id],
  );
  const [previous] = await ctx.runPrepared<{ id: string }>(query);
  return previous === undefined ? { root: true } : { parentId: previous.id };
}

/** A parsed `edit()` / `regenerate()` input. */
export interface SiblingWrite {
  readonly userId: string;
  readonly messageId: string;
  readonly conversationId: string | undefined;
  readonly content: string;
  /** The serialized stored parts (`{"v":1,"parts":[...]}`), or null for a text-only message. */
  readonly parts: string | null;
  /** The searchable text of the parts beyond the content, or null. */
  readonly partsSearch: string | null;
  /** Serialized JSON, or null. */
  readonly metadata: string | null;
  readonly clientId: string | undefined;
  readonly usage?: ChatUsageRecord | undefined;
}

/**
 * Writes `write.content` (and `write.parts`) as a new sibling of `write.messageId` (same parent, same role; for
 * `regenerate` the message must be an assistant's), which becomes the conversation's active leaf,
 * with a `chat.message_edit` / `chat.message_regenerate` audit entry (ids and role, no content),
 * in one transaction. Sealed like an append when encryption is on (it is one).
 */
export async function writeSibling(
  ctx: RepositoryContext,
  kind: 'edit' | 'regenerate',
  write: SiblingWrite,
): Promise<ChatMessage> {
  const found = await findMessage(ctx, write.userId, write.messageId, write.conversationId, 'write');
  if (kind === 'regenerate' && found.row.role !== 'assistant') {
    throw new ValidationError('invalid regenerate: not an assistant message', [
      { path: ['messageId'], message: 'must be the id of an assistant message', code: 'custom' },
    ]);
  }
  if (write.usage !== undefined && found.row.role !== 'assistant') {
    throw new ValidationError('invalid message at usage: usage is for assistant messages', [
      { path: ['usage'], message: 'only assistant messages carry usage', code: 'custom' },
    ]);
  }
  return ctx.atomic(async (tx) => {
    const placement = await placementOf(tx, found.row);
    const message: NewMessage = {
      userId: write.userId,
      conversationId: found.row.conversation_id,
      role: found.row.role,
      content: write.content,
      metadata: write.metadata,
      parts: write.parts,
      partsSearch: write.partsSearch,
      clientId: write.clientId,
      usage: write.usage,
      ...('root' in placement ? { root: true } : { parentId: placement.parentId }),
    };
    let written: ChatMessage | undefined;
    try {
      [written] = await insertMessages(tx, [message]);
    } catch (error) {
      // The parent was deleted between the two statements (clear, retention).
      if (error instanceof ValidationError && 'parentId' in placement) throw parentNotFound('messageId');
      throw error;
    }
    if (written === undefined) throw new Error('carebase: sibling write returned no row');
    await recordAudit(tx, {
      action: kind === 'edit' ? 'chat.message_edit' : 'chat.message_regenerate',
      resourceType: 'conversation',
      resourceId: written.conversationId,
      subjectId: found.ownerId,
      metadata: { messageId: written.id, siblingOf: found.row.id, role: written.role },
    });
    return written;
  });
}

/**
 * Makes `messageId` the active leaf of the conversation (what `path` and `context` show and where
 * `append` without `parentId` writes). One statement; `ValidationError` when the message is not in
 * the conversation, `ForbiddenError` / `NotFoundError` for the conversation.
 */
export async function setActiveLeaf(
  ctx: RepositoryContext,
  input: { readonly userId: string; readonly conversationId: string; readonly messageId: string },
): Promise<void> {
  const query = preparedQuery<{ id: string }>(
    ctx,
    'tree-set-active-leaf',
    (t) => `update ${t('conversations')} c set active_leaf_id = $3::bigint
where c.user_id = (select owner_id from ${t('conversation_participants')}
    where conversation_id = $2::uuid and user_id = $1::uuid and role <> 'viewer')
  and c.id = $2::uuid
  and exists (select 1 from ${t('chat_messages')} m
    where m.user_id = c.user_id and m.conversation_id = c.id and m.id = $3::bigint)
returning c.id`,
    [input.userId, input.conversationId, input.messageId],
  );
  const rows = await ctx.runPrepared<{ id: string }>(query);
  if (rows.length > 0) return;
  await assertParticipant(ctx, input.userId, input.conversationId, 'write');
  throw parentNotFound('messageId');
}

/**
 * The siblings of a message in creation (id) order: the explicit children of its parent (or the
 * conversation's explicit roots) on chat_messages_children_idx, plus the parent's implicit child
 * (the next message in (created_at, id) order, when that one has no explicit parent). Two
 * statements: the lookup of the message and the siblings.
 */
export async function siblingsOf(
  ctx: RepositoryContext,
  input: { readonly userId: string; readonly messageId: string; readonly conversationId: string | undefined },
): Promise<ChatSiblings> {
  const found = await findMessage(ctx, input.userId, input.messageId, input.conversationId, 'read');
  const placement = await placementOf(ctx, found.row);
  const columns = MESSAGE_ROW_COLUMNS;
  const head = [found.ownerId, found.row.conversation_id];
  const query =
    'root' in placement
      ? preparedQuery<unknown[]>(
          ctx,
          'tree-siblings-root',
          (t) => `select ${columns} from ${t('chat_messages')}
where user_id = $1::uuid and conversation_id = $2::uuid and parent_id is null and is_root
union all
select ${columns} from (
  select ${columns}, is_root from ${t('chat_messages')}
  where user_id = $1::uuid and conversation_id = $2::uuid
  order by created_at, id limit 1
) first where first.parent_id is null and not first.is_root
order by id`,
          head,
          ARRAY_ROWS,
        )
      : preparedQuery<unknown[]>(
          ctx,
          'tree-siblings',
          (t) => `select ${columns} from ${t('chat_messages')}
where user_id = $1::uuid and conversation_id = $2::uuid and parent_id = $3::bigint
union all
select ${columns} from (
  select ${columns}, is_root from ${t('chat_messages')}
  where user_id = $1::uuid and conversation_id = $2::uuid
    and (created_at, id) > ((select created_at from ${t('chat_messages')} where user_id = $1::uuid and id = $3::bigint), $3::bigint)
  order by created_at, id limit 1
) next where next.parent_id is null and not next.is_root
order by id`,
          [...head, placement.parentId],
          ARRAY_ROWS,
        );
  const rows = await openMessageRows(ctx, (await ctx.runPrepared<unknown[]>(query)).map(messageRowOf));
  const items = rows.map(toChatMessage);
  const index = items.findIndex((message) => message.id === found.row.id);
  if (index < 0) throw new Error('carebase: a message is missing from its siblings');
  return { items, index };
}
