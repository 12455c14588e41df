import type { ColumnType, Generated } from 'kysely';
import type { JsonValue } from './audit.js';

/**
 * A chat message's author role (CHECK constraint `chat_messages_role_check`).
 *
 * @example
 * ```ts
 * import type { ChatRole } from 'carebase';
 * const role: ChatRole = 'assistant';
 * await cb.chat.append({ userId, conversationId, role, content: answer });
 * ```
 */
export type ChatRole = 'user' | 'assistant' | 'system' | 'tool';

/**
 * `conversations`: one row per chat thread, owned by a user; at most one default per user.
 *
 * @example
 * ```ts
 * // A sidebar of the user's most recently active conversations.
 * const recent = await cb.db
 *   .selectFrom('conversations')
 *   .select(['id', 'title', 'last_message_at'])
 *   .where('user_id', '=', userId)
 *   .orderBy('last_message_at', 'desc')
 *   .limit(20)
 *   .execute();
 * ```
 */
export interface ConversationsTable {
  id: Generated<string>;
  user_id: string;
  title: string | null;
  is_default: Generated<boolean>;
  metadata: JsonValue | null;
  /** The system an imported conversation came from (`cb.imports`); null for carebase's own. */
  import_source: ColumnType<string | null, string | null | undefined, string | null>;
  /** The conversation's id in `import_source`; unique per user and source. */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  last_message_at: Generated<Date>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** Host-defined state, e.g. `open`, `escalated`, `closed` (a lower-case word). */
  status: Generated<string>;
  /** Optimistic-concurrency version: bumped by every conversation update, never by appends. */
  version: Generated<number>;
  /** When the conversation was archived; null while it is not. */
  archived_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** `applyRetention` deletes none of this conversation's messages before this time. */
  retain_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Replaces `applyRetention`'s `olderThanDays` for this conversation. */
  retention_days: ColumnType<number | null, number | null | undefined, number | null>;
  /** The leaf `chat.path` shows by default; null: the conversation's newest message. */
  active_leaf_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * A participant's role in a conversation: `owner` (exactly one: the conversation's user),
 * `member` (reads and writes) or `viewer` (reads only).
 *
 * @example
 * <!-- snippet-preamble: declare const patientId: string; declare const clinicianId: string; -->
 * ```ts
 * import type { ParticipantRole } from 'carebase';
 * const role: ParticipantRole = 'member';
 * await cb.chat.addParticipant({ userId: patientId, conversationId, participantId: clinicianId, role });
 * ```
 */
export type ParticipantRole = 'owner' | 'member' | 'viewer';

/**
 * `conversation_participants`: who takes part in a conversation, keyed by
 * `(conversation_id, user_id)`; `owner_id` is the conversation's owner (its key in `conversations`).
 *
 * @example
 * ```ts
 * // Everyone in a conversation, owner first.
 * const people = await cb.db
 *   .selectFrom('conversation_participants')
 *   .select(['user_id', 'role'])
 *   .where('conversation_id', '=', conversationId)
 *   .orderBy('created_at')
 *   .execute();
 * ```
 */
export interface ConversationParticipantsTable {
  conversation_id: string;
  user_id: string;
  owner_id: string;
  role: ParticipantRole;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/**
 * `chat_messages`: append-only, bigint identity ids (returned by pg as strings), keyed by
 * `(user_id, id)`; `search_vector` is generated from `language` and `content`.
 *
 * @example
 * ```ts
 * // Messages per role for one user, e.g. for a usage dashboard.
 * const perRole = await cb.db
 *   .selectFrom('chat_messages')
 *   .select(['role', (eb) => eb.fn.countAll<string>().as('messages')])
 *   .where('user_id', '=', userId)
 *   .groupBy('role')
 *   .execute();
 * ```
 */
export interface ChatMessagesTable {
  id: ColumnType<string, never, never>;
  user_id: string;
  conversation_id: string;
  client_id: string | null;
  role: ChatRole;
  content: string;
  metadata: JsonValue | null;
  /** A text-search configuration name (`regconfig`), e.g. `english`. */
  language: ColumnType<string, string | undefined, string>;
  search_vector: ColumnType<string, never, never>;
  /**
   * The blind keyword index of a sealed message (docs/encryption.md, "Search"): keyed word tokens,
   * as decimal strings; null for rows stored in clear.
   */
  search_tokens: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  /** The system an imported message came from (`cb.imports`); null for carebase's own. */
  import_source: ColumnType<string | null, string | null | undefined, string | null>;
  /** The message's id in `import_source`; unique per user and source. */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The participant who appended the message; null means the conversation's owner (`user_id`). */
  author_user_id: ColumnType<string | null, string | null | undefined, string | null>;
  /**
   * The parent message (same conversation). Null: the previous message of the conversation in
   * (created_at, id) order, unless `is_root` (see docs/chat.md, message trees).
   */
  parent_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** An explicit root: a message without a parent (the edit of a conversation's first message). */
  is_root: ColumnType<boolean, boolean | undefined, boolean>;
  /** A system message `chat.context` always includes. */
  pinned: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Generated<Date>;
}

/**
 * `chat_usage`: the usage ledger, one row per model call behind an assistant message, keyed by
 * `(user_id, id)` like the messages (`user_id` is the conversation's owner). `cost` is an exact
 * decimal, returned by pg as a string.
 *
 * @example
 * ```ts
 * // Output tokens per model, straight from the ledger.
 * const perModel = await cb.db
 *   .selectFrom('chat_usage')
 *   .select(['model', (eb) => eb.fn.sum<string>('output_tokens').as('output')])
 *   .groupBy('model')
 *   .execute();
 * ```
 */
export interface ChatUsageTable {
  id: ColumnType<string, never, never>;
  user_id: string;
  conversation_id: string;
  message_id: string;
  author_user_id: string;
  provider: string;
  model: string;
  input_tokens: ColumnType<string, string | number | undefined, string | number>;
  output_tokens: ColumnType<string, string | number | undefined, string | number>;
  cached_tokens: ColumnType<string, string | number | undefined, string | number>;
  reasoning_tokens: ColumnType<string, string | number | undefined, string | number>;
  cost: ColumnType<string | null, string | null | undefined, string | null>;
  currency: ColumnType<string | null, string | null | undefined, string | null>;
  latency_ms: ColumnType<number | null, number | null | undefined, number | null>;
  status: 'ok' | 'error' | 'aborted';
  created_at: Generated<Date>;
}
