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
  /** The system an imported message came from (`cb.imports`); null for carebase's own. */
  import_source: ColumnType<string | null, string | null | undefined, string | null>;
  /** The message's id in `import_source`; unique per user and source. */
  external_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Generated<Date>;
}
