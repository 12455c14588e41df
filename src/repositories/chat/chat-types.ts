import type { JsonValue } from '../../schema/audit.js';
import type { ChatRole } from '../../schema/chat.js';

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
  readonly content: string;
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
  created_at: Date;
  /** Null for messages written before 0031 and imports: the owner. */
  author_user_id: string | null;
  /** Null: the previous message (implicit parent), or none for a root. */
  parent_id: string | null;
  pinned: boolean;
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
