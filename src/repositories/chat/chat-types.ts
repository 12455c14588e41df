import type { JsonValue } from '../../schema/audit.js';
import type { ChatRole } from '../../schema/chat.js';
import type { ChatPart } from './chat-parts.js';
import type { StoredParts } from './check-parts.js';

/**
 * One chat message as carebase returns it.
 *
 * @example
 * ```ts
 * import type { ChatMessage } from 'carebase';
 * const message: ChatMessage = await cb.chat.append({ userId, role: 'user', content: 'Hello' });
 * console.log(message.id, message.createdAt.toISOString());
 * ```
 */
export interface ChatMessage {
  /** carebase's id: a bigint, as a decimal string. */
  readonly id: string;
  /** The conversation's owner: whose chat history the message belongs to. */
  readonly userId: string;
  /**
   * Who wrote it: the participant who appended it (for `assistant`, `system` and `tool` messages,
   * the participant on whose behalf it was appended). Messages written before shared
   * conversations, and imported ones, name the owner.
   */
  readonly authorUserId: string;
  readonly conversationId: string;
  /** The client-supplied idempotency id, if one was given. */
  readonly clientId: string | null;
  readonly role: ChatRole;
  /** The text (for a message appended with parts only: its text parts, joined by blank lines). */
  readonly content: string;
  /** The typed parts, as appended; `null` for a message appended without parts. */
  readonly parts: readonly ChatPart[] | null;
  readonly metadata: JsonValue | null;
  readonly createdAt: Date;
  /**
   * The message this one answers or follows, in the same conversation; `null` for a root, and for
   * a message that simply follows the previous one (plain appends, imports and every message
   * written before message trees: its parent is the conversation's previous message in `history`
   * order). Edits and regenerations name their parent. Use `cb.chat.path` to read a branch.
   */
  readonly parentId: string | null;
  /** A pinned system message: `cb.chat.context` always includes it. */
  readonly pinned: boolean;
}

/**
 * One conversation (chat thread): owned by a user (`userId`), shared with the participants the
 * owner adds (`cb.chat.addParticipant`).
 *
 * @example
 * ```ts
 * import type { Conversation } from 'carebase';
 * const conversation: Conversation = await cb.chat.createConversation({ userId, title: 'Night shift' });
 * ```
 */
export interface Conversation {
  readonly id: string;
  readonly userId: string;
  readonly title: string | null;
  /** True for the user's default conversation (where `append` without a conversation id goes). */
  readonly isDefault: boolean;
  readonly metadata: JsonValue | null;
  /** Time of the latest message (or the creation time while empty). */
  readonly lastMessageAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Host-defined state (e.g. `open`, `escalated`, `closed`). @default 'open' */
  readonly status: string;
  /**
   * Bumped by every change made through `updateConversation` / `renameConversation` (not by new
   * messages): pass it back as `expectedVersion` to refuse a concurrent change.
   */
  readonly version: number;
  /** When the conversation was archived; `null` while it is not. */
  readonly archivedAt: Date | null;
  /** `applyRetention` deletes none of its messages before this time; `null`: no hold. */
  readonly retainUntil: Date | null;
  /** Replaces `applyRetention`'s `olderThanDays` for this conversation; `null`: the global one. */
  readonly retentionDays: number | null;
}

/**
 * A page of results: `nextCursor` is `undefined` on the last page.
 *
 * @example
 * ```ts
 * import type { ChatMessage, ChatPage } from 'carebase';
 * let page: ChatPage<ChatMessage> = await cb.chat.history({ userId, limit: 100 });
 * while (page.nextCursor) page = await cb.chat.history({ userId, limit: 100, cursor: page.nextCursor });
 * ```
 */
export interface ChatPage<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | undefined;
}

/**
 * One search hit: the message, its `ts_rank_cd` rank and a `ts_headline` snippet with matches
 * wrapped in `<b>...</b>` (the snippet is not HTML-escaped: escape it before rendering as HTML).
 *
 * @example
 * ```ts
 * const { items } = await cb.chat.search({ userId, query: '"insulin dose" -pediatric' });
 * for (const hit of items) console.log(hit.rank, hit.snippet);
 * ```
 */
export interface ChatSearchHit {
  readonly message: ChatMessage;
  readonly rank: number;
  readonly snippet: string;
}

/**
 * A page of search hits: `hasMore` says whether more matches follow this page (so a UI can say
 * "20 shown, more found" instead of "20 found"); pass `nextCursor` back for them.
 *
 * @example
 * ```ts
 * import type { ChatSearchPage } from 'carebase';
 * const page: ChatSearchPage = await cb.chat.search({ userId, query: 'insulin', limit: 20 });
 * const label = page.hasMore ? `first ${page.items.length} results` : `${page.items.length} found`;
 * ```
 */
export interface ChatSearchPage extends ChatPage<ChatSearchHit> {
  readonly hasMore: boolean;
}

/** A message row as selected by the repository's queries. */
export interface MessageRow {
  id: string;
  user_id: string;
  conversation_id: string;
  client_id: string | null;
  role: ChatRole;
  content: string;
  metadata: JsonValue | null;
  /** Null for messages without parts (and in a sealed row, whose parts are in the envelope). */
  parts: StoredParts | null;
  created_at: Date;
  /** Null for messages written before 0031 and imports: the owner. */
  author_user_id: string | null;
  /** Null: the previous message (implicit parent), or none for a root. */
  parent_id: string | null;
  pinned: boolean;
}

/** The selected columns of a {@link MessageRow}, in the order {@link messageRowOf} reads them. */
export const MESSAGE_ROW_COLUMNS =
  'id, user_id, conversation_id, client_id, role, content, metadata, created_at, author_user_id, parent_id, pinned, parts';

/**
 * A {@link MessageRow} from an array row (`StatementOptions.arrayRows`) of
 * {@link MESSAGE_ROW_COLUMNS}: one object literal, so every row of every page has the same shape.
 * Columns after these are ignored.
 */
export function messageRowOf(a: readonly unknown[]): MessageRow {
  return {
    id: a[0] as string,
    user_id: a[1] as string,
    conversation_id: a[2] as string,
    client_id: a[3] as string | null,
    role: a[4] as ChatRole,
    content: a[5] as string,
    metadata: a[6] as JsonValue | null,
    created_at: a[7] as Date,
    author_user_id: a[8] as string | null,
    parent_id: a[9] as string | null,
    pinned: a[10] as boolean,
    parts: a[11] as StoredParts | null,
  };
}

/** A conversation row as selected by the repository's queries. */
export interface ConversationRow {
  id: string;
  user_id: string;
  title: string | null;
  is_default: boolean;
  metadata: JsonValue | null;
  last_message_at: Date;
  created_at: Date;
  updated_at: Date;
  status: string;
  version: number;
  archived_at: Date | null;
  retain_until: Date | null;
  retention_days: number | null;
}

/** Maps a selected message row to a {@link ChatMessage}. */
export function toChatMessage(row: MessageRow): ChatMessage {
  return {
    id: row.id,
    userId: row.user_id,
    authorUserId: row.author_user_id ?? row.user_id,
    conversationId: row.conversation_id,
    clientId: row.client_id,
    role: row.role,
    content: row.content,
    parts: row.parts === null ? null : row.parts.parts,
    metadata: row.metadata,
    createdAt: row.created_at,
    parentId: row.parent_id,
    pinned: row.pinned,
  };
}

/** Maps a selected conversation row to a {@link Conversation}. */
export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    isDefault: row.is_default,
    metadata: row.metadata,
    lastMessageAt: row.last_message_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    status: row.status,
    version: row.version,
    archivedAt: row.archived_at,
    retainUntil: row.retain_until,
    retentionDays: row.retention_days,
  };
}

/** Parsed `search()` input. */
export interface SearchQuery {
  readonly userId: string;
  readonly query: string;
  readonly conversationId: string | undefined;
  readonly limit: number;
  readonly cursor: string | undefined;
}
