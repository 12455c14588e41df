import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../../sql/cursor.js';
import { jsonObjectSchema } from '../../validation/json.js';
import { StorableText } from '../../validation/text.js';

/**
 * Zod schemas of every `cb.chat` method's input, exported so hosts can validate requests with the
 * same rules before calling carebase. Content size is checked against `chat.maxMessageBytes`
 * after parsing (it depends on configuration).
 */

const userId = z.uuid();
const conversationId = z.uuid();
const limit = z.number().int().min(1).max(10_000);
const cursor = z.string().min(1).max(MAX_CURSOR_LENGTH);

/**
 * Message content: any well-formed Unicode text without NUL (U+0000), which PostgreSQL text cannot
 * store, and without lone UTF-16 surrogates, which have no UTF-8 form.
 *
 * @example
 * ```ts
 * import { ChatContent } from 'carebase';
 * ChatContent.safeParse('a\u0000b').success; // false
 * ```
 */
export const ChatContent = StorableText;

/**
 * JSON metadata attached to a message or conversation: a JSON object within the shared limits
 * (32 levels, 256 KiB); cycles, BigInt, functions, class instances, `toJSON`, Invalid Dates and
 * `__proto__`/`constructor` keys are refused (see `jsonObjectSchema`). The parsed value is a plain
 * copy.
 *
 * @example
 * ```ts
 * import { ChatMetadata } from 'carebase';
 * ChatMetadata.parse({ model: 'gpt', tokens: 42 });
 * ```
 */
export const ChatMetadata = jsonObjectSchema();

/**
 * Author roles of a chat message.
 *
 * @example
 * ```ts
 * import { ChatRoleSchema } from 'carebase';
 * ChatRoleSchema.options; // ['user', 'assistant', 'system', 'tool']
 * ```
 */
export const ChatRoleSchema = z.enum(['user', 'assistant', 'system', 'tool']);

/**
 * Input of `cb.chat.createConversation()`.
 *
 * @example
 * ```ts
 * import { ConversationCreateInput } from 'carebase';
 * ConversationCreateInput.parse({ userId, title: 'Handover' });
 * ```
 */
export const ConversationCreateInput = z.strictObject({
  userId,
  title: z.string().max(500).optional(),
  metadata: ChatMetadata.optional(),
});
/** `ConversationCreateInput` as a caller writes it. */
export type ConversationCreateInput = z.input<typeof ConversationCreateInput>;

/**
 * Input of `cb.chat.listConversations()`.
 *
 * @example
 * ```ts
 * import { ConversationListInput } from 'carebase';
 * ConversationListInput.parse({ userId, limit: 20 });
 * ```
 */
export const ConversationListInput = z.strictObject({
  userId,
  /** @default 50 */
  limit: limit.optional(),
  cursor: cursor.optional(),
  /** Archived conversations: left out, listed too, or listed alone. @default 'exclude' */
  archived: z.enum(['exclude', 'include', 'only']).optional(),
  /** Only conversations in this status. */
  status: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/)
    .optional(),
});
/** `ConversationListInput` as a caller writes it. */
export type ConversationListInput = z.input<typeof ConversationListInput>;

/**
 * Input of `cb.chat.renameConversation()`.
 *
 * @example
 * ```ts
 * import { ConversationRenameInput } from 'carebase';
 * ConversationRenameInput.parse({ userId, conversationId, title: null });
 * ```
 */
export const ConversationRenameInput = z.strictObject({
  userId,
  conversationId,
  title: z.string().max(500).nullable(),
});
/** `ConversationRenameInput` as a caller writes it. */
export type ConversationRenameInput = z.input<typeof ConversationRenameInput>;

/**
 * Input of `cb.chat.deleteConversation()` and `cb.chat.getConversation()`.
 *
 * @example
 * ```ts
 * import { ConversationRefInput } from 'carebase';
 * ConversationRefInput.parse({ userId, conversationId });
 * ```
 */
export const ConversationRefInput = z.strictObject({ userId, conversationId });
/** `ConversationRefInput` as a caller writes it. */
export type ConversationRefInput = z.input<typeof ConversationRefInput>;

/**
 * One message to append (`cb.chat.append()`, and each element of `appendMany()`). The UTF-8 size
 * limit (`chat.maxMessageBytes`) is checked by the repository.
 *
 * @example
 * ```ts
 * import { ChatAppendInput } from 'carebase';
 * const result = ChatAppendInput.safeParse(req.body); // validate a request before calling cb.chat.append
 * ```
 */
export const ChatAppendInput = z.strictObject({
  userId,
  /** @default the user's default conversation, created on first use */
  conversationId: conversationId.optional(),
  role: ChatRoleSchema,
  content: ChatContent,
  metadata: ChatMetadata.optional(),
  /** A client-chosen id: appending again with the same id returns the first message. */
  id: StorableText.min(1).max(200).optional(),
});
/** `ChatAppendInput` as a caller writes it. */
export type ChatAppendInput = z.input<typeof ChatAppendInput>;

/**
 * Input of `cb.chat.appendMany()`: up to 10 000 messages, written in one statement.
 *
 * @example
 * ```ts
 * import { ChatAppendManyInput } from 'carebase';
 * ChatAppendManyInput.parse([{ userId, role: 'user', content: 'hi' }]);
 * ```
 */
export const ChatAppendManyInput = z.array(ChatAppendInput).max(10_000);
/** `ChatAppendManyInput` as a caller writes it. */
export type ChatAppendManyInput = z.input<typeof ChatAppendManyInput>;

/**
 * Input of `cb.chat.history()`. `cursor` and `offset` are mutually exclusive.
 *
 * @example
 * ```ts
 * import { ChatHistoryInput } from 'carebase';
 * ChatHistoryInput.parse({ userId, limit: 50, order: 'desc' });
 * ```
 */
export const ChatHistoryInput = z
  .strictObject({
    userId,
    /** @default the user's default conversation */
    conversationId: conversationId.optional(),
    /** @default 50 */
    limit: limit.optional(),
    cursor: cursor.optional(),
    /** Slower for deep pages than `cursor` (the server walks every skipped row). */
    offset: z.number().int().min(0).max(100_000_000).optional(),
    /** @default 'asc' (oldest first) */
    order: z.enum(['asc', 'desc']).optional(),
  })
  .refine((value) => value.cursor === undefined || value.offset === undefined, {
    message: 'cursor and offset cannot be combined',
    path: ['offset'],
  });
/** `ChatHistoryInput` as a caller writes it. */
export type ChatHistoryInput = z.input<typeof ChatHistoryInput>;

/**
 * Input of `cb.chat.latest()`.
 *
 * @example
 * ```ts
 * import { ChatLatestInput } from 'carebase';
 * ChatLatestInput.parse({ userId, n: 20 });
 * ```
 */
export const ChatLatestInput = z.strictObject({
  userId,
  /** @default the user's default conversation */
  conversationId: conversationId.optional(),
  n: z.number().int().min(1).max(10_000),
});
/** `ChatLatestInput` as a caller writes it. */
export type ChatLatestInput = z.input<typeof ChatLatestInput>;

/**
 * Input of `cb.chat.search()`.
 *
 * @example
 * ```ts
 * import { ChatSearchInput } from 'carebase';
 * ChatSearchInput.parse({ userId, query: '"chest pain" -pediatric' });
 * ```
 */
export const ChatSearchInput = z.strictObject({
  userId,
  /** Web-search syntax: `"exact phrase"`, `or`, `-excluded`. */
  query: z
    .string()
    .max(1_000)
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL'),
  conversationId: conversationId.optional(),
  /** @default 20 */
  limit: limit.optional(),
  cursor: cursor.optional(),
});
/** `ChatSearchInput` as a caller writes it. */
export type ChatSearchInput = z.input<typeof ChatSearchInput>;

/**
 * Input of `cb.chat.clear()`.
 *
 * @example
 * ```ts
 * import { ChatClearInput } from 'carebase';
 * ChatClearInput.parse({ userId });
 * ```
 */
export const ChatClearInput = z.strictObject({
  userId,
  /** @default every conversation of the user */
  conversationId: conversationId.optional(),
});
/** `ChatClearInput` as a caller writes it. */
export type ChatClearInput = z.input<typeof ChatClearInput>;

/**
 * Input of `cb.chat.export()`.
 *
 * @example
 * ```ts
 * import { ChatExportInput } from 'carebase';
 * ChatExportInput.parse({ userId, format: 'jsonl' });
 * ```
 */
export const ChatExportInput = z.strictObject({
  userId,
  /** @default every conversation of the user */
  conversationId: conversationId.optional(),
  format: z.enum(['jsonl', 'json', 'csv']),
});
/** `ChatExportInput` as a caller writes it. */
export type ChatExportInput = z.input<typeof ChatExportInput>;

/**
 * Input of `cb.chat.applyRetention()`.
 *
 * @example
 * ```ts
 * import { ChatRetentionInput } from 'carebase';
 * ChatRetentionInput.parse({ olderThanDays: 730 });
 * ```
 */
export const ChatRetentionInput = z.strictObject({
  olderThanDays: z.number().int().min(1).max(36_500),
});
/** `ChatRetentionInput` as a caller writes it. */
export type ChatRetentionInput = z.input<typeof ChatRetentionInput>;
