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
    /** Most parts one message may have. @default 1000 */
    maxParts: z.number().int().min(1).max(10_000).default(1_000),
    /**
     * Largest JSON value of one part (tool-call `input`, tool-result `output`, data `data`), in
     * UTF-8 bytes. @default 262144
     */
    maxPartJsonBytes: z.number().int().min(1).max(50_000_000).default(262_144),
    /** Deepest nesting of one part's JSON value (the outermost level counts as 1). @default 32 */
    maxPartJsonDepth: z.number().int().min(1).max(64).default(32),
    /** Largest serialized `parts` array of one message, in UTF-8 bytes. @default 1048576 */
    maxPartsBytes: z.number().int().min(1).max(50_000_000).default(1_048_576),
    /**
     * Largest `data:` URL a file or source part may carry, in bytes: parts reference files, they
     * do not hold them. @default 4096
     */
    maxInlineFileBytes: z.number().int().min(0).max(1_000_000).default(4_096),
    /**
     * Whether full-text search also covers tool-call input and tool-result output (their JSON
     * text), for messages written while it is on. @default false
     */
    searchToolParts: z.boolean().default(false),
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
  /** Most parts one message may have. @default 1000 */
  readonly maxParts?: number | undefined;
  /**
   * Largest JSON value of one part (tool-call `input`, tool-result `output`, data `data`), in
   * UTF-8 bytes. @default 262144
   */
  readonly maxPartJsonBytes?: number | undefined;
  /** Deepest nesting of one part's JSON value (the outermost level counts as 1). @default 32 */
  readonly maxPartJsonDepth?: number | undefined;
  /** Largest serialized `parts` array of one message, in UTF-8 bytes. @default 1048576 */
  readonly maxPartsBytes?: number | undefined;
  /**
   * Largest `data:` URL a file or source part may carry, in bytes: parts reference files, they
   * do not hold them. @default 4096
   */
  readonly maxInlineFileBytes?: number | undefined;
  /**
   * Whether full-text search also covers tool-call input and tool-result output (their JSON
   * text), for messages written while it is on. @default false
   */
  readonly searchToolParts?: boolean | undefined;
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
  /** Most parts one message may have. @default 1000 */
  readonly maxParts: number;
  /**
   * Largest JSON value of one part (tool-call `input`, tool-result `output`, data `data`), in
   * UTF-8 bytes. @default 262144
   */
  readonly maxPartJsonBytes: number;
  /** Deepest nesting of one part's JSON value (the outermost level counts as 1). @default 32 */
  readonly maxPartJsonDepth: number;
  /** Largest serialized `parts` array of one message, in UTF-8 bytes. @default 1048576 */
  readonly maxPartsBytes: number;
  /**
   * Largest `data:` URL a file or source part may carry, in bytes: parts reference files, they
   * do not hold them. @default 4096
   */
  readonly maxInlineFileBytes: number;
  /**
   * Whether full-text search also covers tool-call input and tool-result output (their JSON
   * text), for messages written while it is on. @default false
   */
  readonly searchToolParts: boolean;
}
