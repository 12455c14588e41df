import type { ColumnType, Generated } from 'kysely';
import type { JsonValue } from './audit.js';

/** A chat message's author role (CHECK constraint `chat_messages_role_check`). */
export type ChatRole = 'user' | 'assistant' | 'system' | 'tool';

/** `conversations`: one row per chat thread, owned by a user; at most one default per user. */
export interface ConversationsTable {
  id: Generated<string>;
  user_id: string;
  title: string | null;
  is_default: Generated<boolean>;
  metadata: JsonValue | null;
  last_message_at: Generated<Date>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/**
 * `chat_messages`: append-only, bigint identity ids (returned by pg as strings), keyed by
 * `(user_id, id)`; `search_vector` is generated from `language` and `content`.
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
  created_at: Generated<Date>;
}
