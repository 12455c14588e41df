import { z } from 'zod';

/**
 * Options of the chat history.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ chat: { maxMessageBytes: 32_768, searchLanguage: 'german' } });
 * ```
 */
export const ChatOptionsSchema = z
  .strictObject({
    /** Largest accepted message content (and serialized metadata), in UTF-8 bytes. @default 100000 */
    maxMessageBytes: z.number().int().positive().max(50_000_000).default(100_000),
    /**
     * PostgreSQL text-search configuration used to index new messages and to parse search
     * queries (`select cfgname from pg_ts_config` lists them). Stored per message, so changing it
     * later leaves already-indexed messages as they were.
     * @default 'english'
     */
    searchLanguage: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a text-search configuration name like english')
      .default('english'),
    /** Largest page `history`, `listConversations` and `search` return. @default 500 */
    maxPageSize: z.number().int().min(1).max(10_000).default(500),
    /**
     * Rows fetched per round trip while streaming an export through pg-cursor. Peak memory is
     * about `exportChunkSize` times the average message size.
     * @default 500
     */
    exportChunkSize: z.number().int().min(1).max(100_000).default(500),
  })
  .prefault({});

/**
 * Chat options as a host writes them.
 *
 * @example
 * ```ts
 * import { type ChatOptions, createCarebase } from 'carebase';
 * const chat: ChatOptions = { maxMessageBytes: 32_768, maxPageSize: 200 };
 * const cb = createCarebase({ chat });
 * ```
 */
export interface ChatOptions {
  /** Largest accepted message content (and serialized metadata), in UTF-8 bytes. @default 100000 */
  readonly maxMessageBytes?: number | undefined;
  /**
   * PostgreSQL text-search configuration used to index new messages and to parse search
   * queries (`select cfgname from pg_ts_config` lists them). Stored per message, so changing it
   * later leaves already-indexed messages as they were.
   * @default 'english'
   */
  readonly searchLanguage?: string | undefined;
  /** Largest page `history`, `listConversations` and `search` return. @default 500 */
  readonly maxPageSize?: number | undefined;
  /**
   * Rows fetched per round trip while streaming an export through pg-cursor. Peak memory is
   * about `exportChunkSize` times the average message size.
   * @default 500
   */
  readonly exportChunkSize?: number | undefined;
}
/**
 * Chat options with defaults applied.
 *
 * @example
 * ```ts
 * import type { ResolvedChatOptions } from 'carebase';
 * const { maxPageSize }: ResolvedChatOptions = cb.config.chat;
 * // Clamp the client's page size instead of letting a too-large one fail validation.
 * const limit = Math.min(Number(req.query.limit ?? 50), maxPageSize);
 * const page = await cb.chat.history({ userId: req.user.id, conversationId, limit });
 * ```
 */
export interface ResolvedChatOptions {
  /** Largest accepted message content (and serialized metadata), in UTF-8 bytes. @default 100000 */
  readonly maxMessageBytes: number;
  /**
   * PostgreSQL text-search configuration used to index new messages and to parse search
   * queries (`select cfgname from pg_ts_config` lists them). Stored per message, so changing it
   * later leaves already-indexed messages as they were.
   * @default 'english'
   */
  readonly searchLanguage: string;
  /** Largest page `history`, `listConversations` and `search` return. @default 500 */
  readonly maxPageSize: number;
  /**
   * Rows fetched per round trip while streaming an export through pg-cursor. Peak memory is
   * about `exportChunkSize` times the average message size.
   * @default 500
   */
  readonly exportChunkSize: number;
}
