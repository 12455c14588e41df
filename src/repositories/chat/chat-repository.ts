import type { Readable } from 'node:stream';
import { ValidationError } from '../../errors/errors.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordChatRead } from '../audit/access.js';
import type { RepositoryContext } from '../context.js';
import {
  type ChatAppendInput,
  ChatAppendInputSchema,
  type ChatAppendManyInput,
  ChatAppendManyInputSchema,
  type ChatClearInput,
  ChatClearInputSchema,
  type ChatExportInput,
  ChatExportInputSchema,
  type ChatHistoryInput,
  ChatHistoryInputSchema,
  type ChatLatestInput,
  ChatLatestInputSchema,
  type ChatRetentionInput,
  ChatRetentionInputSchema,
  type ChatSearchInput,
  ChatSearchInputSchema,
  type ConversationCreateInput,
  ConversationCreateInputSchema,
  type ConversationListInput,
  ConversationListInputSchema,
  type ConversationRefInput,
  ConversationRefInputSchema,
  type ConversationRenameInput,
  ConversationRenameInputSchema,
} from './chat-inputs.js';
import type { ChatMessage, ChatPage, ChatSearchPage, Conversation } from './chat-types.js';
import {
  createConversation,
  deleteConversation,
  getConversation,
  listConversations,
  renameConversation,
} from './conversations.js';
import { exportChat } from './export-chat.js';
import { historyPage, latestMessages } from './history.js';
import { type ChatImportOptions, type ChatImportResult, importLegacyChat } from './import-legacy.js';
import { insertMessages, type NewMessage } from './insert-messages.js';
import { applyRetention, clearMessages } from './maintenance.js';
import { searchMessages } from './search.js';

type Parsed<S> = S extends { parse(input: unknown): infer O } ? O : never;

/**
 * Chat history: conversations owned by users and their append-only messages, with keyset
 * paging, full-text search, streamed export and the legacy JSON import. Reach it as `cb.chat`,
 * `tx.chat` inside `cb.transaction()` (every call joins the transaction), or
 * `cb.withActor(actor).chat` (audit entries name the actor).
 *
 * Every method validates its input first (`ValidationError`, nothing written) and enforces
 * ownership: a conversation id of another user gives `ForbiddenError`, an unknown one
 * `NotFoundError`, never an empty result. Messages and errors never carry message content.
 *
 * @example
 * ```ts
 * const message = await cb.chat.append({ userId, role: 'user', content: 'What is the max dose?' });
 * const { items, nextCursor } = await cb.chat.history({ userId, limit: 50 });
 * ```
 */
export class ChatRepository {
  readonly #ctx: RepositoryContext;

  /** @internal Use `cb.chat`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Creates a conversation for `userId`, audited as `chat.conversation_create` in the same
   * transaction. Throws `ValidationError`, or `NotFoundError('user')` for an unknown user.
   *
   * @example
   * ```ts
   * const conversation = await cb.chat.createConversation({ userId, title: 'Ward 3 handover' });
   * ```
   */
  async createConversation(input: ConversationCreateInput): Promise<Conversation> {
    const parsed = parseInput(ConversationCreateInputSchema, input, 'conversation');
    this.#checkMetadata(parsed.metadata, 'metadata');
    return createConversation(this.#ctx, {
      userId: parsed.userId,
      title: parsed.title,
      metadata: parsed.metadata,
    });
  }

  /**
   * Returns one conversation. Throws `NotFoundError` for an unknown id, `ForbiddenError` for
   * another user's conversation.
   *
   * @example
   * ```ts
   * const conversation = await cb.chat.getConversation({ userId, conversationId });
   * ```
   */
  async getConversation(input: ConversationRefInput): Promise<Conversation> {
    const parsed = parseInput(ConversationRefInputSchema, input, 'conversation reference');
    return getConversation(this.#ctx, parsed.userId, parsed.conversationId);
  }

  /**
   * Lists a user's conversations, most recent activity first (keyset: stable while messages
   * arrive, although a conversation that becomes active again moves to the front and may then
   * be seen twice or not at all by an ongoing walk). Throws `ValidationError` for a bad cursor.
   *
   * @example
   * ```ts
   * const { items, nextCursor } = await cb.chat.listConversations({ userId, limit: 20 });
   * ```
   */
  async listConversations(input: ConversationListInput): Promise<ChatPage<Conversation>> {
    const parsed = parseInput(ConversationListInputSchema, input, 'conversation list');
    const limit = this.#limit(parsed.limit, 50);
    return this.#ctx.onReplica((ctx) =>
      listConversations(ctx, { userId: parsed.userId, limit, cursor: parsed.cursor }),
    );
  }

  /**
   * Sets (or with `null` clears) a conversation's title, audited as `chat.conversation_rename`
   * (the title itself is not written to the audit log). Throws `NotFoundError` / `ForbiddenError`.
   *
   * @example
   * ```ts
   * await cb.chat.renameConversation({ userId, conversationId, title: 'Discharge questions' });
   * ```
   */
  async renameConversation(input: ConversationRenameInput): Promise<Conversation> {
    const parsed = parseInput(ConversationRenameInputSchema, input, 'conversation rename');
    return renameConversation(this.#ctx, parsed);
  }

  /**
   * Deletes a conversation with all its messages, audited as `chat.conversation_delete`.
   * Throws `NotFoundError` / `ForbiddenError`.
   *
   * @example
   * ```ts
   * await cb.chat.deleteConversation({ userId, conversationId });
   * ```
   */
  async deleteConversation(input: ConversationRefInput): Promise<void> {
    const parsed = parseInput(ConversationRefInputSchema, input, 'conversation reference');
    return deleteConversation(this.#ctx, parsed);
  }

  /**
   * Appends one message in one round trip. Without `conversationId` it goes to the user's
   * default conversation, created on first use (concurrent first appends create exactly one).
   * With a client `id`, a retry returns the first message instead of adding another (MUST be
   * used for at-least-once delivery); the same `id` with different content is a `ConflictError`.
   *
   * Throws `ValidationError` (content over `chat.maxMessageBytes`, NUL characters, lone
   * surrogates, unknown role), `ForbiddenError` / `NotFoundError` for a conversation the user
   * does not own / that does not exist, `NotFoundError('user')` for an unknown user.
   *
   * @example
   * ```ts
   * const message = await cb.chat.append({ userId, role: 'assistant', content: answer, id: requestId });
   * ```
   */
  async append(input: ChatAppendInput): Promise<ChatMessage> {
    const parsed = parseInput(ChatAppendInputSchema, input, 'message');
    const [message] = await insertMessages(this.#ctx, [this.#toNew(parsed, [])]);
    if (message === undefined) throw new Error('carebase: append returned no row');
    return message;
  }

  /**
   * Appends up to 10 000 messages (any users and conversations) in ONE statement, atomically:
   * either all are written or none. Returns one message per input, in order; messages of one
   * conversation keep their input order. Same rules as {@link ChatRepository.append}.
   *
   * @example
   * ```ts
   * await cb.chat.appendMany([
   *   { userId, role: 'user', content: question },
   *   { userId, role: 'assistant', content: answer },
   * ]);
   * ```
   */
  async appendMany(messages: ChatAppendManyInput): Promise<ChatMessage[]> {
    const parsed = parseInput(ChatAppendManyInputSchema, messages, 'messages');
    const batch = parsed.map((message, index) => this.#toNew(message, [index]));
    return insertMessages(this.#ctx, batch);
  }

  /**
   * One page of a conversation (default: the user's default conversation) in (createdAt, id)
   * order, oldest first unless `order: 'desc'`. Keyset pagination with an opaque cursor: every
   * message is returned exactly once across pages, even when many share a timestamp and while
   * new messages are appended. `offset` (for the seed API's `get_chat_history(user_id, limit,
   * offset)`) also works but costs O(offset): prefer `cursor`.
   *
   * Throws `ValidationError` (bad cursor, cursor with offset, limit over `chat.maxPageSize`),
   * `ForbiddenError` / `NotFoundError`.
   *
   * @example
   * ```ts
   * let page = await cb.chat.history({ userId, conversationId, limit: 100 });
   * while (page.nextCursor) {
   *   page = await cb.chat.history({ userId, conversationId, limit: 100, cursor: page.nextCursor });
   * }
   * ```
   */
  async history(input: ChatHistoryInput): Promise<ChatPage<ChatMessage>> {
    const parsed = parseInput(ChatHistoryInputSchema, input, 'history query');
    const query = {
      userId: parsed.userId,
      conversationId: parsed.conversationId,
      limit: this.#limit(parsed.limit, 50),
      cursor: parsed.cursor,
      offset: parsed.offset,
      order: parsed.order ?? 'asc',
    } as const;
    const page = await this.#ctx.onReplica((ctx) => historyPage(ctx, query));
    if (this.#ctx.actor !== undefined && this.#ctx.actor.userId !== parsed.userId) {
      await recordChatRead(this.#ctx, parsed.userId, 'history', parsed.conversationId);
    }
    return page;
  }

  /**
   * The newest `n` messages of a conversation in chronological order, for building a model's
   * context window. Reads exactly `n` index entries. Throws `ForbiddenError` / `NotFoundError`.
   *
   * @example
   * ```ts
   * const context = await cb.chat.latest({ userId, conversationId, n: 20 });
   * ```
   */
  async latest(input: ChatLatestInput): Promise<ChatMessage[]> {
    const parsed = parseInput(ChatLatestInputSchema, input, 'latest query');
    const messages = await this.#ctx.onReplica((ctx) =>
      latestMessages(ctx, parsed.userId, parsed.conversationId, parsed.n),
    );
    if (this.#ctx.actor !== undefined && this.#ctx.actor.userId !== parsed.userId) {
      await recordChatRead(this.#ctx, parsed.userId, 'history', parsed.conversationId);
    }
    return messages;
  }

  /**
   * Full-text search in the user's messages (optionally one conversation) with web-search
   * syntax: `"exact phrase"`, `or`, `-excluded`. Ranked by `ts_rank_cd`, with `ts_headline`
   * snippets (cut from the first 100,000 characters of a message), paged by cursor; `hasMore`
   * says whether more matches follow the page. A query of only stop words or punctuation returns
   * no items.
   * Throws `ValidationError`, `ForbiddenError` / `NotFoundError` for the conversation.
   *
   * @example
   * ```ts
   * const { items } = await cb.chat.search({ userId, query: '"blood pressure" -pediatric' });
   * ```
   */
  async search(input: ChatSearchInput): Promise<ChatSearchPage> {
    const parsed = parseInput(ChatSearchInputSchema, input, 'search query');
    const query = {
      userId: parsed.userId,
      query: parsed.query,
      conversationId: parsed.conversationId,
      limit: this.#limit(parsed.limit, 20),
      cursor: parsed.cursor,
    };
    const hits = await this.#ctx.onReplica((ctx) => searchMessages(ctx, query));
    if (this.#ctx.actor !== undefined && this.#ctx.actor.userId !== parsed.userId) {
      await recordChatRead(this.#ctx, parsed.userId, 'search', parsed.conversationId);
    }
    return hits;
  }

  /**
   * Deletes the user's messages (one conversation, or all; conversations stay) and returns how
   * many, audited as `chat.clear` in the same transaction. Throws `ForbiddenError` /
   * `NotFoundError` for the conversation.
   *
   * @example
   * ```ts
   * const deleted = await cb.chat.clear({ userId });
   * ```
   */
  async clear(input: ChatClearInput): Promise<number> {
    const parsed = parseInput(ChatClearInputSchema, input, 'clear request');
    return clearMessages(this.#ctx, parsed.userId, parsed.conversationId);
  }

  /**
   * Streams the user's messages (one conversation or all) as `jsonl`, `json` or `csv` text
   * (format version 1, see docs/chat.md) through pg-cursor in constant memory, from one
   * consistent snapshot, audited as `chat.export`. Throws `ValidationError` synchronously; an
   * ownership failure (`ForbiddenError` / `NotFoundError`) arrives as the stream's error. With read
   * replicas (`replicas`), the audit entry is committed on the primary first and the rows stream
   * from a replica that has replayed it; otherwise the entry commits with the export's snapshot
   * transaction.
   *
   * @example
   * ```ts
   * import { createWriteStream } from 'node:fs';
   * import { pipeline } from 'node:stream/promises';
   * await pipeline(cb.chat.export({ userId, format: 'jsonl' }), createWriteStream('chat.jsonl'));
   * ```
   */
  export(input: ChatExportInput): Readable {
    const parsed = parseInput(ChatExportInputSchema, input, 'export request');
    return exportChat(this.#ctx, {
      userId: parsed.userId,
      conversationId: parsed.conversationId,
      format: parsed.format,
    });
  }

  /**
   * Imports the seed app's `{ "<username>": [{ "role", "content" }, ...] }` file (a path or the
   * parsed object) into each user's default conversation. Idempotent: a re-run adds nothing and
   * reports the same counts (message ids derive from username, position and content). Users
   * missing from the database are skipped and listed, or created disabled with an unusable
   * password when `createMissingUsers` is set. Each user's messages commit together with a
   * `chat.import` audit entry. Throws `ValidationError` naming the bad entry before writing.
   *
   * @example
   * ```ts
   * const result = await cb.chat.importLegacyJson('./chat_history.json', { createMissingUsers: true });
   * console.log(result.inserted, result.alreadyPresent);
   * ```
   */
  async importLegacyJson(
    source: string | Record<string, unknown>,
    options: ChatImportOptions = {},
  ): Promise<ChatImportResult> {
    return importLegacyChat(this.#ctx, source, options);
  }

  /**
   * Deletes every message older than `olderThanDays` days (all users) and returns how many,
   * audited as `chat.retention`. Conversations stay. Run it from a scheduled job.
   *
   * @example
   * ```ts
   * const deleted = await cb.chat.applyRetention({ olderThanDays: 365 * 2 });
   * ```
   */
  async applyRetention(input: ChatRetentionInput): Promise<number> {
    const parsed = parseInput(ChatRetentionInputSchema, input, 'retention request');
    return applyRetention(this.#ctx, parsed.olderThanDays);
  }

  #limit(limit: number | undefined, fallback: number): number {
    const max = this.#ctx.config.chat.maxPageSize;
    const value = limit ?? Math.min(fallback, max);
    if (value > max) {
      throw new ValidationError(`invalid limit: above chat.maxPageSize (${max})`, [
        { path: ['limit'], message: `must be at most ${max}`, code: 'too_big' },
      ]);
    }
    return value;
  }

  #checkMetadata(
    metadata: Record<string, unknown> | undefined,
    field: string,
    path: (string | number)[] = [],
  ): string | null {
    if (metadata === undefined) return null;
    const text = JSON.stringify(metadata);
    const where = [...path, field];
    if (text.includes('\\u0000')) {
      throw new ValidationError(`invalid ${where.join('.')}: contains NUL characters`, [
        { path: where, message: 'must not contain NUL characters (U+0000)', code: 'invalid_string' },
      ]);
    }
    if (Buffer.byteLength(text, 'utf8') > this.#ctx.config.chat.maxMessageBytes) {
      throw new ValidationError(`invalid ${where.join('.')}: too large`, [
        {
          path: where,
          message: `exceeds ${this.#ctx.config.chat.maxMessageBytes} UTF-8 bytes`,
          code: 'too_big',
        },
      ]);
    }
    return text;
  }

  #toNew(message: Parsed<typeof ChatAppendInputSchema>, path: (string | number)[]): NewMessage {
    const max = this.#ctx.config.chat.maxMessageBytes;
    if (Buffer.byteLength(message.content, 'utf8') > max) {
      const where = [...path, 'content'];
      throw new ValidationError(`invalid message at ${where.join('.')}: too large`, [
        { path: where, message: `exceeds ${max} UTF-8 bytes`, code: 'too_big' },
      ]);
    }
    return {
      userId: message.userId,
      conversationId: message.conversationId,
      role: message.role,
      content: message.content,
      metadata: this.#checkMetadata(message.metadata, 'metadata', path),
      clientId: message.id,
    };
  }
}
