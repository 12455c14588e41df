import { z } from 'zod';
import { MAX_CURSOR_LENGTH } from '../../sql/cursor.js';
import { StorableTextSchema } from '../../validation/text.js';
import { ChatContentSchema, ChatMessageIdSchema, ChatMetadataSchema } from './chat-inputs.js';
import { ChatPartsSchema } from './chat-part-schema.js';
import type { ChatPart } from './chat-parts.js';
import type { ChatMessage } from './chat-types.js';
import { type ChatUsageRecord, ChatUsageRecordSchema } from './usage-inputs.js';

/**
 * Zod schemas and interfaces of the message-tree methods of `cb.chat` (`edit`, `regenerate`,
 * `setActiveLeaf`, `path`, `siblings`, `context`).
 */

const userId = z.uuid();
const conversationId = z.uuid();

/** The fields of `edit()` and `regenerate()` inputs (`regenerate` adds `usage`). */
const siblingShape = {
  userId,
  messageId: ChatMessageIdSchema,
  /** @default the text of the text parts, joined by blank lines (`parts` is then required) */
  content: ChatContentSchema.optional(),
  /** Typed parts (text, reasoning, tool calls and results, files, sources, data), as for `append`. */
  parts: ChatPartsSchema.optional(),
  /** The message's conversation: saves a lookup when given. */
  conversationId: conversationId.optional(),
  metadata: ChatMetadataSchema.optional(),
  /** A client-chosen id for the new message: a retry returns the first one. */
  id: StorableTextSchema.min(1).max(200).optional(),
};
/** As for `append`: a message needs its text, its parts, or both. */
const needsContentOrParts = {
  message: 'needs content or parts',
  path: ['content'],
};
/**
 * Input of `cb.chat.edit()`.
 *
 * @example
 * ```ts
 * import { ChatEditInputSchema } from 'carebase/schemas';
 * ChatEditInputSchema.parse({ userId, messageId: '42', content: 'What is the max dose for adults?' });
 * ```
 */
export const ChatEditInputSchema = z
  .strictObject(siblingShape)
  .refine((input) => input.content !== undefined || input.parts !== undefined, needsContentOrParts);
/**
 * Input of `cb.chat.edit()`: the new content of a message, written as a new sibling of it.
 * Validated by `ChatEditInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatEditInput } from 'carebase';
 * const input: ChatEditInput = { userId, messageId: '42', content: 'What is the max dose for adults?' };
 * const edited = await cb.chat.edit(input);
 * ```
 */
export interface ChatEditInput {
  /** The caller: an owner or member of the message's conversation. */
  readonly userId: string;
  /** The message edited (`ChatMessage.id`). */
  readonly messageId: string;
  /**
   * The new text. Optional when `parts` are given: it then holds the text of the text parts,
   * joined by blank lines (`''` when there are none), exactly as for `append`.
   */
  readonly content?: string | undefined;
  /**
   * Typed parts of the new message (see `ChatPart`): checked against the same limits as
   * `append`'s (`chat.maxParts`, `chat.maxPartJsonBytes`, ...), sealed like them when encryption
   * is on. @default none (a text-only message)
   */
  readonly parts?: readonly ChatPart[] | undefined;
  /** The message's conversation: saves a lookup when given. */
  readonly conversationId?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  /** A client-chosen id for the new message: a retry returns the first one. */
  readonly id?: string | undefined;
}

/**
 * Input of `cb.chat.regenerate()`.
 *
 * @example
 * ```ts
 * import { ChatRegenerateInputSchema } from 'carebase/schemas';
 * ChatRegenerateInputSchema.parse({ userId, messageId: '43', content: 'Adults: 4 g a day.' });
 * ```
 */
export const ChatRegenerateInputSchema = z
  .strictObject({
    ...siblingShape,
    /** The usage of the model call that produced the new answer. */
    usage: ChatUsageRecordSchema.optional(),
  })
  .refine((input) => input.content !== undefined || input.parts !== undefined, needsContentOrParts);
/**
 * Input of `cb.chat.regenerate()`: a new answer (produced by the host's model) to the question an
 * assistant message answered, written as a new sibling of it. Validated by
 * `ChatRegenerateInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatRegenerateInput } from 'carebase';
 * const input: ChatRegenerateInput = { userId, messageId: '43', content: 'Adults: at most 4 g a day.' };
 * const answer = await cb.chat.regenerate(input);
 * ```
 */
export interface ChatRegenerateInput extends ChatEditInput {
  /** The usage of the model call that produced the new answer, written in the same transaction. */
  readonly usage?: ChatUsageRecord | undefined;
}

/**
 * Input of `cb.chat.setActiveLeaf()`.
 *
 * @example
 * ```ts
 * import { ChatSetActiveLeafInputSchema } from 'carebase/schemas';
 * ChatSetActiveLeafInputSchema.parse({ userId, conversationId, messageId: '42' });
 * ```
 */
export const ChatSetActiveLeafInputSchema = z.strictObject({
  userId,
  conversationId,
  messageId: ChatMessageIdSchema,
});
/**
 * Input of `cb.chat.setActiveLeaf()`: the branch a conversation shows and appends to. Validated by
 * `ChatSetActiveLeafInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatSetActiveLeafInput } from 'carebase';
 * const input: ChatSetActiveLeafInput = { userId, conversationId, messageId: '42' };
 * await cb.chat.setActiveLeaf(input);
 * ```
 */
export interface ChatSetActiveLeafInput {
  /** The caller: an owner or member of the conversation. */
  readonly userId: string;
  readonly conversationId: string;
  /** Any message of the conversation (usually a leaf; an inner message shows its path up to it). */
  readonly messageId: string;
}

/**
 * Input of `cb.chat.path()`.
 *
 * @example
 * ```ts
 * import { ChatPathInputSchema } from 'carebase/schemas';
 * ChatPathInputSchema.parse({ userId, conversationId, limit: 50 });
 * ```
 */
export const ChatPathInputSchema = z.strictObject({
  userId,
  conversationId,
  leafId: ChatMessageIdSchema.optional(),
  /** @default 50 */
  limit: z.number().int().min(1).max(10_000).optional(),
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});
/**
 * Input of `cb.chat.path()`: one page of the branch that ends at `leafId` (default: the
 * conversation's active leaf). Validated by `ChatPathInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatPathInput } from 'carebase';
 * const input: ChatPathInput = { userId, conversationId, limit: 50 };
 * const { items, nextCursor } = await cb.chat.path(input);
 * ```
 */
export interface ChatPathInput {
  /** The caller: any participant of the conversation. */
  readonly userId: string;
  readonly conversationId: string;
  /** The last message of the branch. @default the conversation's active leaf */
  readonly leafId?: string | undefined;
  /** Messages per page, at most `chat.maxPageSize`. @default 50 */
  readonly limit?: number | undefined;
  /** The `nextCursor` of the previous page: the next older messages of the same branch. */
  readonly cursor?: string | undefined;
}

/**
 * Input of `cb.chat.siblings()`.
 *
 * @example
 * ```ts
 * import { ChatSiblingsInputSchema } from 'carebase/schemas';
 * ChatSiblingsInputSchema.parse({ userId, messageId: '42' });
 * ```
 */
export const ChatSiblingsInputSchema = z.strictObject({
  userId,
  messageId: ChatMessageIdSchema,
  /** The message's conversation: saves a lookup when given. */
  conversationId: conversationId.optional(),
});
/**
 * Input of `cb.chat.siblings()`. Validated by `ChatSiblingsInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatSiblingsInput } from 'carebase';
 * const input: ChatSiblingsInput = { userId, messageId: '42' };
 * const { items, index } = await cb.chat.siblings(input);
 * ```
 */
export interface ChatSiblingsInput {
  /** The caller: any participant of the message's conversation. */
  readonly userId: string;
  readonly messageId: string;
  /** The message's conversation: saves a lookup when given. */
  readonly conversationId?: string | undefined;
}

/**
 * The siblings of a message (the messages with the same parent, itself included) in creation
 * order, and the position of the message among them: what `< 2/3 >` arrows show.
 *
 * @example
 * ```ts
 * import type { ChatSiblings } from 'carebase';
 * const siblings: ChatSiblings = await cb.chat.siblings({ userId, messageId: '42' });
 * const label = `${siblings.index + 1}/${siblings.items.length}`;
 * ```
 */
export interface ChatSiblings {
  readonly items: readonly ChatMessage[];
  /** The position of the given message in `items` (0-based). */
  readonly index: number;
}

/**
 * Counts the tokens of one message for `cb.chat.context()` (a non-negative integer). Called once
 * per message considered, synchronously.
 *
 * @example
 * ```ts
 * import type { ChatTokenCounter } from 'carebase';
 * const countTokens: ChatTokenCounter = (message) => Math.ceil(message.content.length / 3) + 3;
 * ```
 */
export type ChatTokenCounter = (message: ChatMessage) => number;

/**
 * Input of `cb.chat.context()`.
 *
 * @example
 * ```ts
 * import { ChatContextInputSchema } from 'carebase/schemas';
 * ChatContextInputSchema.parse({ userId, conversationId, maxTokens: 8000 });
 * ```
 */
export const ChatContextInputSchema = z.strictObject({
  userId,
  conversationId,
  leafId: ChatMessageIdSchema.optional(),
  maxTokens: z.number().int().min(1).max(100_000_000),
  countTokens: z
    .custom<ChatTokenCounter>((value) => typeof value === 'function', 'must be a function')
    .optional(),
});
/**
 * Input of `cb.chat.context()`: the token budget of the next model call. Validated by
 * `ChatContextInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatContextInput } from 'carebase';
 * const input: ChatContextInput = { userId, conversationId, maxTokens: 8000 };
 * const { messages, tokens, truncated } = await cb.chat.context(input);
 * ```
 */
export interface ChatContextInput {
  /** The caller: any participant of the conversation. */
  readonly userId: string;
  readonly conversationId: string;
  /** The last message of the branch. @default the conversation's active leaf */
  readonly leafId?: string | undefined;
  /** The budget: a positive integer. */
  readonly maxTokens: number;
  /**
   * The host's tokenizer. @default `Math.ceil(message.content.length / 4) + 4` (4 characters a
   * token, plus 4 for the role and framing)
   */
  readonly countTokens?: ChatTokenCounter | undefined;
}

/**
 * The messages of a context window, oldest first: the conversation's pinned system messages and
 * the newest messages of the branch that fit the budget.
 *
 * @example
 * ```ts
 * import type { ChatContextWindow } from 'carebase';
 * const window: ChatContextWindow = await cb.chat.context({ userId, conversationId, maxTokens: 8000 });
 * const prompt = window.messages.map((m) => ({ role: m.role, content: m.content }));
 * ```
 */
export interface ChatContextWindow {
  readonly messages: readonly ChatMessage[];
  /** The tokens of `messages` as counted (pinned messages count even when they exceed the budget). */
  readonly tokens: number;
  /** True when older messages of the branch were left out for the budget. */
  readonly truncated: boolean;
}
