import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../../sql/cursor.js';
import { isBigintText } from '../../validation/ids.js';
import { jsonObjectSchema } from '../../validation/json.js';
import { quick, quickObject } from '../../validation/quick.js';
import { StorableTextSchema } from '../../validation/text.js';
import { ChatPartsSchema, quickChatParts } from './chat-part-schema.js';
import type { ChatPart } from './chat-parts.js';
import { ConversationStatusSchema } from './sharing-inputs.js';
import { type ChatUsageRecord, ChatUsageRecordSchema, quickUsageRecord } from './usage-inputs.js';

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
 * import { ChatContentSchema } from 'carebase/schemas';
 * ChatContentSchema.safeParse('a\u0000b').success; // false
 * ```
 */
export const ChatContentSchema = StorableTextSchema;

/**
 * JSON metadata attached to a message or conversation: a JSON object within the shared limits
 * (32 levels, 256 KiB); cycles, BigInt, functions, class instances, `toJSON`, Invalid Dates and
 * `__proto__`/`constructor` keys are refused (see `jsonObjectSchema`). The parsed value is a plain
 * copy.
 *
 * @example
 * ```ts
 * import { ChatMetadataSchema } from 'carebase/schemas';
 * ChatMetadataSchema.parse({ model: 'gpt', tokens: 42 });
 * ```
 */
export const ChatMetadataSchema = jsonObjectSchema();

/**
 * Author roles of a chat message.
 *
 * @example
 * ```ts
 * import { ChatRoleSchema } from 'carebase/schemas';
 * ChatRoleSchema.options; // ['user', 'assistant', 'system', 'tool']
 * ```
 */
export const ChatRoleSchema = z.enum(['user', 'assistant', 'system', 'tool']);

/**
 * A chat message id: carebase's bigint id as decimal text (`ChatMessage.id`).
 *
 * @example
 * ```ts
 * import { ChatMessageIdSchema } from 'carebase/schemas';
 * ChatMessageIdSchema.safeParse('42').success; // true
 * ```
 */
export const ChatMessageIdSchema = z
  .string()
  .refine(
    (value) => isBigintText(value) && value !== '0',
    'must be a message id (a positive bigint as text)',
  );

/**
 * Input of `cb.chat.createConversation()`.
 *
 * @example
 * ```ts
 * import { ConversationCreateInputSchema } from 'carebase/schemas';
 * ConversationCreateInputSchema.parse({ userId, title: 'Handover' });
 * ```
 */
export const ConversationCreateInputSchema = z.strictObject({
  userId,
  title: z.string().max(500).optional(),
  metadata: ChatMetadataSchema.optional(),
});
/**
 * Input of `cb.chat.createConversation()`. Validated by `ConversationCreateInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ConversationCreateInput } from 'carebase';
 * const input: ConversationCreateInput = { userId, title: 'Night shift questions' };
 * const conversation = await cb.chat.createConversation(input);
 * ```
 */
export interface ConversationCreateInput {
  readonly userId: string;
  readonly title?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/**
 * Input of `cb.chat.listConversations()`.
 *
 * @example
 * ```ts
 * import { ConversationListInputSchema } from 'carebase/schemas';
 * ConversationListInputSchema.parse({ userId, limit: 20 });
 * ```
 */
export const ConversationListInputSchema = z.strictObject({
  userId,
  /** @default 50 */
  limit: limit.optional(),
  cursor: cursor.optional(),
  /** Archived conversations: left out, listed too, or listed alone. @default 'exclude' */
  archived: z.enum(['exclude', 'include', 'only']).optional(),
  /** Only conversations in this status. */
  status: ConversationStatusSchema.optional(),
});
/**
 * Input of `cb.chat.listConversations()`: a page of one user's conversations. Validated by `ConversationListInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ConversationListInput } from 'carebase';
 * const input: ConversationListInput = { userId, limit: 20 };
 * const { items, nextCursor } = await cb.chat.listConversations(input);
 * ```
 */
export interface ConversationListInput {
  readonly userId: string;
  /** @default 50 */
  readonly limit?: number | undefined;
  readonly cursor?: string | undefined;
  /**
   * Archived conversations: left out (`exclude`), listed too (`include`) or listed alone (`only`).
   * @default 'exclude'
   */
  readonly archived?: 'exclude' | 'include' | 'only' | undefined;
  /** Only conversations in this status (see `ConversationStatusSchema`). */
  readonly status?: string | undefined;
}

/**
 * Input of `cb.chat.renameConversation()`.
 *
 * @example
 * ```ts
 * import { ConversationRenameInputSchema } from 'carebase/schemas';
 * ConversationRenameInputSchema.parse({ userId, conversationId, title: null });
 * ```
 */
export const ConversationRenameInputSchema = z.strictObject({
  userId,
  conversationId,
  title: z.string().max(500).nullable(),
});
/**
 * Input of `cb.chat.renameConversation()`; a `null` title clears it. Validated by `ConversationRenameInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ConversationRenameInput } from 'carebase';
 * const input: ConversationRenameInput = { userId, conversationId, title: 'Medication questions' };
 * await cb.chat.renameConversation(input);
 * ```
 */
export interface ConversationRenameInput {
  readonly userId: string;
  readonly conversationId: string;
  readonly title: string | null;
}

/**
 * Input of `cb.chat.deleteConversation()` and `cb.chat.getConversation()`.
 *
 * @example
 * ```ts
 * import { ConversationRefInputSchema } from 'carebase/schemas';
 * ConversationRefInputSchema.parse({ userId, conversationId });
 * ```
 */
export const ConversationRefInputSchema = z.strictObject({ userId, conversationId });
/**
 * One conversation of one user (`cb.chat.getConversation`, `deleteConversation`). Validated by `ConversationRefInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ConversationRefInput } from 'carebase';
 * const ref: ConversationRefInput = { userId, conversationId };
 * const conversation = await cb.chat.getConversation(ref);
 * ```
 */
export interface ConversationRefInput {
  readonly userId: string;
  readonly conversationId: string;
}

/**
 * One message to append (`cb.chat.append()`, and each element of `appendMany()`). The UTF-8 size
 * limit (`chat.maxMessageBytes`) is checked by the repository.
 *
 * @example
 * ```ts
 * import { ChatAppendInputSchema } from 'carebase/schemas';
 * const result = ChatAppendInputSchema.safeParse(req.body); // validate a request before calling cb.chat.append
 * ```
 */
export const ChatAppendInputSchema = z
  .strictObject({
    userId,
    /** @default the user's default conversation, created on first use */
    conversationId: conversationId.optional(),
    role: ChatRoleSchema,
    /** @default the text of the text parts, joined by blank lines (`parts` is then required) */
    content: ChatContentSchema.optional(),
    /** Typed parts (text, reasoning, tool calls and results, files, sources, data). */
    parts: ChatPartsSchema.optional(),
    metadata: ChatMetadataSchema.optional(),
    /** A client-chosen id: appending again with the same id returns the first message. */
    id: StorableTextSchema.min(1).max(200).optional(),
    /** The model call's usage (assistant messages only), written in the same transaction. */
    usage: ChatUsageRecordSchema.optional(),
    /** The parent message (same conversation). @default the conversation's active leaf */
    parentId: ChatMessageIdSchema.optional(),
    /** A system message that `chat.context` always includes (`role: 'system'` only). */
    pinned: z.boolean().optional(),
  })
  .refine((message) => message.content !== undefined || message.parts !== undefined, {
    message: 'needs content or parts',
    path: ['content'],
  });
/**
 * `ChatAppendInputSchema`'s quick parse (see `src/validation/quick.ts`): a message with `content`
 * or typical `parts` (text, reasoning, tool calls and results), with or without `usage`; a
 * `parentId` and other parts go to the schema. test/chat/quick-append.test.ts holds it to the
 * schema.
 */
export const quickChatAppend = quickObject(
  {
    userId: quick.uuid,
    conversationId: quick.uuid,
    role: quick.oneOf(...ChatRoleSchema.options),
    content: quick.storableText(),
    parts: quickChatParts,
    metadata: quick.jsonObject,
    id: quick.storableText(1, 200),
    usage: quickUsageRecord,
    pinned: quick.boolean,
  },
  ['userId', 'role'],
  (parsed) => parsed.content !== undefined || parsed.parts !== undefined,
) as (input: unknown) => z.output<typeof ChatAppendInputSchema> | undefined;

/**
 * Input of `cb.chat.append()`: one message. Without `conversationId` it goes to the user's default conversation; an `id` makes retries idempotent. Validated by `ChatAppendInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatAppendInput } from 'carebase';
 * const message: ChatAppendInput = { userId, conversationId, role: 'assistant', content: answer, metadata: { model: 'small' } };
 * await cb.chat.append(message);
 * ```
 */
export interface ChatAppendInput {
  readonly userId: string;
  readonly role: 'user' | 'system' | 'assistant' | 'tool';
  /**
   * The message's text. Optional when `parts` are given: it then holds the text of the text
   * parts, joined by blank lines (`''` when there are none), so content-only readers still see the
   * answer. Give both when the content should differ (e.g. a summary line).
   */
  readonly content?: string | undefined;
  /**
   * Typed parts (see `ChatPart`), returned as given by `history`, `latest`, `search` and
   * `export`. Checked against `chat.maxParts`, `chat.maxPartJsonBytes`, `chat.maxPartJsonDepth`,
   * `chat.maxPartsBytes` and `chat.maxInlineFileBytes`.
   */
  readonly parts?: readonly ChatPart[] | undefined;
  /** @default the user's default conversation, created on first use */
  readonly conversationId?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  /** A client-chosen id: appending again with the same id returns the first message. */
  readonly id?: string | undefined;
  /**
   * The usage of the model call behind an assistant message (`role: 'assistant'` only), written
   * in the message's transaction: if it cannot be written, the append fails and writes nothing.
   */
  readonly usage?: ChatUsageRecord | undefined;
  /**
   * The message this one follows: a message of the same conversation (`ValidationError`
   * otherwise, nothing written). Appending under an earlier message starts a branch; the new
   * message becomes the conversation's active leaf. `append` only (`appendMany` refuses it).
   * @default the conversation's active leaf (its newest message unless `setActiveLeaf` chose another)
   */
  readonly parentId?: string | undefined;
  /**
   * Pins a system message (`role: 'system'` only): `chat.context` always includes it.
   * @default false
   */
  readonly pinned?: boolean | undefined;
}

/**
 * Input of `cb.chat.appendMany()`: up to 10 000 messages, written in one statement.
 *
 * @example
 * ```ts
 * import { ChatAppendManyInputSchema } from 'carebase/schemas';
 * ChatAppendManyInputSchema.parse([{ userId, role: 'user', content: 'hi' }]);
 * ```
 */
export const ChatAppendManyInputSchema = z.array(ChatAppendInputSchema).max(10_000);
/**
 * Input of `cb.chat.appendMany()`: up to 10,000 messages, written in one round trip.
 *
 * @example
 * ```ts
 * import type { ChatAppendManyInput } from 'carebase';
 * const turn: ChatAppendManyInput = [
 *   { userId, conversationId, role: 'user', content: question },
 *   { userId, conversationId, role: 'assistant', content: answer },
 * ];
 * await cb.chat.appendMany(turn);
 * ```
 */
export type ChatAppendManyInput = ChatAppendInput[];

/**
 * Input of `cb.chat.history()`. `cursor` and `offset` are mutually exclusive.
 *
 * @example
 * ```ts
 * import { ChatHistoryInputSchema } from 'carebase/schemas';
 * ChatHistoryInputSchema.parse({ userId, limit: 50, order: 'desc' });
 * ```
 */
export const ChatHistoryInputSchema = z
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
/**
 * Input of `cb.chat.history()`. `cursor` and `offset` are mutually exclusive. Validated by `ChatHistoryInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatHistoryInput } from 'carebase';
 * const page: ChatHistoryInput = { userId, conversationId, limit: 50, order: 'desc' };
 * const { items, nextCursor } = await cb.chat.history(page);
 * ```
 */
export interface ChatHistoryInput {
  readonly userId: string;
  /** @default the user's default conversation */
  readonly conversationId?: string | undefined;
  /** @default 50 */
  readonly limit?: number | undefined;
  readonly cursor?: string | undefined;
  /** Slower for deep pages than `cursor` (the server walks every skipped row). */
  readonly offset?: number | undefined;
  /** @default 'asc' (oldest first) */
  readonly order?: 'asc' | 'desc' | undefined;
}

/**
 * Input of `cb.chat.latest()`.
 *
 * @example
 * ```ts
 * import { ChatLatestInputSchema } from 'carebase/schemas';
 * ChatLatestInputSchema.parse({ userId, n: 20 });
 * ```
 */
export const ChatLatestInputSchema = z.strictObject({
  userId,
  /** @default the user's default conversation */
  conversationId: conversationId.optional(),
  n: z.number().int().min(1).max(10_000),
});
/**
 * Input of `cb.chat.latest()`: the last `n` messages, oldest first (an LLM context window). Validated by `ChatLatestInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatLatestInput } from 'carebase';
 * const input: ChatLatestInput = { userId, conversationId, n: 20 };
 * const context = await cb.chat.latest(input);
 * ```
 */
export interface ChatLatestInput {
  readonly userId: string;
  readonly n: number;
  /** @default the user's default conversation */
  readonly conversationId?: string | undefined;
}

/**
 * Input of `cb.chat.search()`.
 *
 * @example
 * ```ts
 * import { ChatSearchInputSchema } from 'carebase/schemas';
 * ChatSearchInputSchema.parse({ userId, query: '"chest pain" -pediatric' });
 * ```
 */
export const ChatSearchInputSchema = z.strictObject({
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
/**
 * Input of `cb.chat.search()`: full-text search in one user's messages. Validated by `ChatSearchInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatSearchInput } from 'carebase';
 * const input: ChatSearchInput = { userId, query: 'insulin dose', limit: 10 };
 * const { items } = await cb.chat.search(input);
 * ```
 */
export interface ChatSearchInput {
  readonly userId: string;
  /** Web-search syntax: `"exact phrase"`, `or`, `-excluded`. */
  readonly query: string;
  readonly conversationId?: string | undefined;
  /** @default 20 */
  readonly limit?: number | undefined;
  readonly cursor?: string | undefined;
}

/**
 * Input of `cb.chat.clear()`.
 *
 * @example
 * ```ts
 * import { ChatClearInputSchema } from 'carebase/schemas';
 * ChatClearInputSchema.parse({ userId });
 * ```
 */
export const ChatClearInputSchema = z.strictObject({
  userId,
  /** @default every conversation of the user */
  conversationId: conversationId.optional(),
});
/**
 * Input of `cb.chat.clear()`: one conversation, or all of a user's messages. Validated by `ChatClearInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatClearInput } from 'carebase';
 * const input: ChatClearInput = { userId, conversationId };
 * const deleted = await cb.chat.clear(input);
 * ```
 */
export interface ChatClearInput {
  readonly userId: string;
  /** @default every conversation of the user */
  readonly conversationId?: string | undefined;
}

/**
 * Input of `cb.chat.export()`.
 *
 * @example
 * ```ts
 * import { ChatExportInputSchema } from 'carebase/schemas';
 * ChatExportInputSchema.parse({ userId, format: 'jsonl' });
 * ```
 */
export const ChatExportInputSchema = z.strictObject({
  userId,
  /** @default every conversation of the user */
  conversationId: conversationId.optional(),
  format: z.enum(['jsonl', 'json', 'csv']),
});
/**
 * Input of `cb.chat.export()`: one user's messages (optionally one conversation), streamed. Validated by `ChatExportInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatExportInput } from 'carebase';
 * const input: ChatExportInput = { userId, format: 'jsonl' };
 * cb.chat.export(input).pipe(res.type('application/x-ndjson'));
 * ```
 */
export interface ChatExportInput {
  readonly userId: string;
  readonly format: 'jsonl' | 'csv' | 'json';
  /** @default every conversation of the user */
  readonly conversationId?: string | undefined;
}

/**
 * Input of `cb.chat.applyRetention()`.
 *
 * @example
 * ```ts
 * import { ChatRetentionInputSchema } from 'carebase/schemas';
 * ChatRetentionInputSchema.parse({ olderThanDays: 730 });
 * ```
 */
export const ChatRetentionInputSchema = z.strictObject({
  olderThanDays: z.number().int().min(1).max(36_500),
});
/**
 * Input of `cb.chat.applyRetention()`: messages older than `olderThanDays` are deleted. Validated by `ChatRetentionInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatRetentionInput } from 'carebase';
 * const retention: ChatRetentionInput = { olderThanDays: 730 };
 * await cb.chat.applyRetention(retention);
 * ```
 */
export interface ChatRetentionInput {
  readonly olderThanDays: number;
}
