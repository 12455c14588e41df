import type { Readable } from 'node:stream';
import { z } from 'zod';
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
  quickChatAppend,
} from './chat-inputs.js';
import type { ChatPart } from './chat-parts.js';
import type { ChatMessage, ChatPage, ChatSearchPage, Conversation } from './chat-types.js';
import { checkParts } from './check-parts.js';
import { contextWindow } from './context-window.js';
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
import { assertParticipant } from './ownership.js';
import { addParticipant, listParticipants, removeParticipant } from './participants.js';
import { pathPage } from './path.js';
import { searchMessages } from './search.js';
import { partsSearchText, textOfParts } from './searchable-text.js';
import {
  type ConversationParticipant,
  type ConversationUpdate,
  ConversationUpdateSchema,
  type ParticipantAddInput,
  ParticipantAddInputSchema,
  type ParticipantRemoveInput,
  ParticipantRemoveInputSchema,
} from './sharing-inputs.js';
import { setActiveLeaf, siblingsOf, writeSibling } from './tree.js';
import {
  type ChatContextInput,
  ChatContextInputSchema,
  type ChatContextWindow,
  type ChatEditInput,
  ChatEditInputSchema,
  type ChatPathInput,
  ChatPathInputSchema,
  type ChatRegenerateInput,
  ChatRegenerateInputSchema,
  type ChatSetActiveLeafInput,
  ChatSetActiveLeafInputSchema,
  type ChatSiblings,
  type ChatSiblingsInput,
  ChatSiblingsInputSchema,
} from './tree-inputs.js';
import { updateConversation } from './update-conversation.js';
import { usageReport } from './usage.js';
import { type ChatUsageQuery, ChatUsageQuerySchema, type ChatUsageRow } from './usage-inputs.js';
import {
  type RefreshUsageRollupsResult,
  refreshUsageRollups,
  usageRollupRefreshOf,
} from './usage-rollups.js';

const ConversationIdSchema = z.uuid();

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
      listConversations(ctx, {
        userId: parsed.userId,
        limit,
        cursor: parsed.cursor,
        archived: parsed.archived ?? 'exclude',
        status: parsed.status,
      }),
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
    const parsed = parseInput(ChatAppendInputSchema, input, 'message', { quick: quickChatAppend });
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
    parsed.forEach((message, index) => {
      if (message.parentId === undefined) return;
      throw new ValidationError(`invalid messages at ${index}.parentId: appendMany does not take parents`, [
        { path: [index, 'parentId'], message: 'use append() to write under a given parent', code: 'custom' },
      ]);
    });
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
    const owners = this.#readOwners(parsed.userId, page.items);
    if (owners !== undefined) await this.#recordReads(owners, 'history', parsed.conversationId);
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
    const owners = this.#readOwners(parsed.userId, messages);
    if (owners !== undefined) await this.#recordReads(owners, 'history', parsed.conversationId);
    return messages;
  }

  /**
   * Full-text search in the user's messages (optionally one conversation) with web-search
   * syntax: `"exact phrase"`, `or`, `-excluded`. Ranked by `ts_rank_cd`, with `ts_headline`
   * snippets (cut from the first 100,000 characters of a message), paged by cursor; `hasMore`
   * says whether more matches follow the page. A query of only stop words or punctuation returns
   * no items. With encryption on, the same syntax and result shape run on the blind keyword index
   * (exact words after folding, no stemming; ranks and snippets computed after decryption; the
   * 5,000 most recent matches ranked; docs/encryption.md, "Search with encryption on").
   * Throws `ValidationError`, `ForbiddenError` / `NotFoundError` for the conversation,
   * `DecryptionError` for a candidate row that does not decrypt.
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
    const owners = this.#readOwners(
      parsed.userId,
      hits.items.map((hit) => hit.message),
    );
    if (owners !== undefined) await this.#recordReads(owners, 'search', parsed.conversationId);
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

  /**
   * Adds a participant to a conversation, or changes the role of one already in it: the owner
   * (`userId`) shares the conversation with `participantId` as a `member` (reads and writes: every
   * chat call that takes the conversation id works for them, their messages carry their
   * `authorUserId`) or a `viewer` (reads only). Audited as `chat.participant_add` /
   * `chat.participant_role` in the same transaction (ids and roles, no content).
   *
   * Throws `ValidationError` (before any SQL: malformed ids, an unknown role, the owner as
   * participant), `ForbiddenError` when the caller is not the owner, `NotFoundError` for an unknown
   * conversation or (`user`) participant. Idempotent: adding again with the same role changes
   * nothing and writes no audit entry.
   *
   * @example
   * <!-- snippet-preamble: declare const patientId: string; declare const clinicianId: string; -->
   * ```ts
   * await cb.chat.addParticipant({ userId: patientId, conversationId, participantId: clinicianId, role: 'member' });
   * ```
   */
  async addParticipant(input: ParticipantAddInput): Promise<ConversationParticipant> {
    const parsed = parseInput(ParticipantAddInputSchema, input, 'participant');
    return addParticipant(this.#ctx, parsed);
  }

  /**
   * Removes a participant: the owner removes a member or viewer, or a participant leaves
   * (`participantId` equal to `userId`). Returns false when `participantId` was not a participant.
   * Audited as `chat.participant_remove` in the same transaction. Their messages stay in the
   * conversation (with their `authorUserId`).
   *
   * Throws `ValidationError` (malformed ids; removing the owner), `ForbiddenError` (a non-owner
   * removing someone else, or a non-participant), `NotFoundError` for an unknown conversation.
   *
   * @example
   * <!-- snippet-preamble: declare const patientId: string; declare const clinicianId: string; -->
   * ```ts
   * await cb.chat.removeParticipant({ userId: patientId, conversationId, participantId: clinicianId });
   * ```
   */
  async removeParticipant(input: ParticipantRemoveInput): Promise<boolean> {
    const parsed = parseInput(ParticipantRemoveInputSchema, input, 'participant');
    return removeParticipant(this.#ctx, parsed);
  }

  /**
   * Every participant of a conversation (owner first, then in the order they were added); any
   * participant may list them. Throws `ForbiddenError` / `NotFoundError`.
   *
   * @example
   * ```ts
   * const participants = await cb.chat.listParticipants({ userId, conversationId });
   * ```
   */
  async listParticipants(input: ConversationRefInput): Promise<ConversationParticipant[]> {
    const parsed = parseInput(ConversationRefInputSchema, input, 'conversation reference');
    return listParticipants(this.#ctx, parsed);
  }

  /**
   * Changes a conversation's title, host-defined `status`, metadata (replaced whole), archiving
   * and per-conversation retention (`retainUntil`, `retentionDays`; see `applyRetention`), as an
   * owner or member (`update.userId`). Each call bumps `version`; with `expectedVersion` the update
   * applies only while the conversation is still at that version (optimistic concurrency: MUST be
   * passed by editors that read, change and write back). Audited as `chat.conversation_update` in
   * the same transaction with the changed field names and the old and new status, archiving and
   * retention values (titles and metadata are content and are never written to the audit log).
   *
   * Throws `ValidationError` before any SQL (nothing to update, a status that is not a lower-case
   * word, bad metadata or dates), `ForbiddenError` (not a participant, or a viewer),
   * `NotFoundError`, `VersionConflictError` (code `CONFLICT`) when `expectedVersion` is stale.
   *
   * @example
   * <!-- snippet-preamble: declare const clinicianId: string; -->
   * ```ts
   * const conversation = await cb.chat.getConversation({ userId: clinicianId, conversationId });
   * await cb.chat.updateConversation(conversationId, {
   *   userId: clinicianId,
   *   status: 'escalated',
   *   expectedVersion: conversation.version,
   * });
   * ```
   */
  async updateConversation(conversationId: string, update: ConversationUpdate): Promise<Conversation> {
    const id = parseInput(ConversationIdSchema, conversationId, 'conversation id');
    const parsed = parseInput(ConversationUpdateSchema, update, 'conversation update');
    const metadata =
      parsed.metadata === undefined || parsed.metadata === null
        ? parsed.metadata
        : this.#checkMetadata(parsed.metadata, 'metadata');
    return updateConversation(this.#ctx, id, {
      userId: parsed.userId,
      title: parsed.title,
      status: parsed.status,
      metadata,
      archived: parsed.archived,
      retainUntil: parsed.retainUntil,
      retentionDays: parsed.retentionDays,
      expectedVersion: parsed.expectedVersion,
    });
  }

  /**
   * Exact sums of the usage ledger (the `usage` of assistant messages) over [`from`, `to`),
   * optionally of one user (whose messages made the calls), conversation or model, grouped by UTC
   * `day`, `model`, `user` or `conversation`, and by currency: equal to a raw `SUM ... GROUP BY`
   * over the ledger. Whole UTC days already rolled up (`refreshUsageRollups`) come from the
   * rollups, the rest (today, edges, days changed since) from the ledger, in one snapshot.
   *
   * Access: with both `userId` and `conversationId`, `userId` must be a participant of the
   * conversation (`ForbiddenError`, or `NotFoundError` for an unknown conversation, before any
   * sum). Without them it is an admin or report call: the host decides who may see it.
   *
   * Row-level security (`rls: true`): on a scope without a user, every user's usage (the admin
   * report, through the `chat_usage` system scope, as with `rls` off); on a scope with a user, only
   * the usage of conversations that user owns or takes part in.
   *
   * Throws `ValidationError` (bad dates, `from` not before `to`, a range over 3660 days) before any
   * SQL. Starts the background rollup refresh when due (`analytics.autoRefreshIntervalMs`).
   *
   * @example
   * ```ts
   * const byDay = await cb.chat.usage({ from: new Date('2026-01-01'), to: new Date('2026-02-01'), groupBy: 'day' });
   * ```
   */
  async usage(query: ChatUsageQuery): Promise<ChatUsageRow[]> {
    const parsed = parseInput(ChatUsageQuerySchema, query, 'usage query');
    if (parsed.userId !== undefined && parsed.conversationId !== undefined) {
      await assertParticipant(this.#ctx, parsed.userId, parsed.conversationId, 'read');
    }
    const rows = await usageReport(this.#ctx, parsed);
    usageRollupRefreshOf(this.#ctx.runtime).maybeStart();
    return rows;
  }

  /**
   * Rolls up every UTC day of the usage ledger closed at least `analytics.rollupSettleMs` ago and
   * recomputes the days changed since they were rolled up (late or replayed usage, erasure).
   * `usage()` is exact without it; it keeps `usage()` fast. `usage()` also starts it in the
   * background every `analytics.autoRefreshIntervalMs` (0: never; call this from a worker).
   *
   * Concurrency: serialized across processes by an advisory lock (transaction-level only, behind
   * a transaction pooler); idempotent.
   *
   * Row-level security (`rls: true`): rolls up every user's usage, whatever the scope's user,
   * through the `chat_usage` system scope (migration 0049).
   *
   * @example
   * ```ts
   * setInterval(() => void cb.chat.refreshUsageRollups(), 60 * 60_000);
   * ```
   */
  async refreshUsageRollups(): Promise<RefreshUsageRollupsResult> {
    return refreshUsageRollups(this.#ctx);
  }

  /**
   * Edits a message: writes `content` and/or typed `parts` (checked, defaulted and stored exactly
   * like `append`'s) as a new sibling of `messageId` (same parent, same role; the original stays,
   * reachable through `siblings` and `path`), which becomes the conversation's active leaf, so the
   * next `append` continues the edited branch. Audited as `chat.message_edit` (ids and role, no
   * content) in the same transaction; sealed like an append when encryption is on.
   *
   * Throws `ValidationError` before any SQL (malformed ids, content, parts over the configured
   * limits, neither content nor parts), `ForbiddenError` for a caller
   * who is not an owner or member of the message's conversation (a viewer, a stranger; an id the
   * caller cannot see is `ForbiddenError` whether or not it exists), `NotFoundError('message')` for
   * an id not in the given `conversationId`. Nothing is written on any error.
   *
   * @example
   * <!-- snippet-preamble: declare const questionId: string; -->
   * ```ts
   * const edited = await cb.chat.edit({ userId, messageId: questionId, content: 'And for children?' });
   * ```
   */
  async edit(input: ChatEditInput): Promise<ChatMessage> {
    const parsed = parseInput(ChatEditInputSchema, input, 'edit');
    const text = this.#textAndParts(parsed.content, parsed.parts, []);
    return writeSibling(this.#ctx, 'edit', {
      userId: parsed.userId,
      messageId: parsed.messageId,
      conversationId: parsed.conversationId,
      ...text,
      metadata: this.#checkMetadata(parsed.metadata, 'metadata'),
      clientId: parsed.id,
    });
  }

  /**
   * Stores a regenerated answer: `content` and/or `parts` (tool calls, reasoning, text: produced
   * by the host's model; carebase calls no model) as a new sibling of the assistant message
   * `messageId`, which becomes the active leaf, with the model call's `usage` written in the same
   * transaction. Audited as `chat.message_regenerate`. Same rules and errors as
   * {@link ChatRepository.edit}, and `ValidationError` when `messageId` is not an assistant message.
   *
   * @example
   * <!-- snippet-preamble: declare const answerId: string; declare const newAnswer: string; -->
   * ```ts
   * const answer = await cb.chat.regenerate({ userId, messageId: answerId, content: newAnswer });
   * ```
   */
  async regenerate(input: ChatRegenerateInput): Promise<ChatMessage> {
    const parsed = parseInput(ChatRegenerateInputSchema, input, 'regenerate');
    const text = this.#textAndParts(parsed.content, parsed.parts, []);
    return writeSibling(this.#ctx, 'regenerate', {
      userId: parsed.userId,
      messageId: parsed.messageId,
      conversationId: parsed.conversationId,
      ...text,
      metadata: this.#checkMetadata(parsed.metadata, 'metadata'),
      clientId: parsed.id,
      usage: parsed.usage,
    });
  }

  /**
   * Chooses the branch a conversation shows: `messageId` becomes its active leaf (the default leaf
   * of `path` and `context`, and the parent of the next `append` without `parentId`). The next
   * write to the conversation makes its new message the active leaf. Not audited (view state).
   *
   * Throws `ValidationError` (malformed ids; a message not in the conversation), `ForbiddenError`
   * (not an owner or member) / `NotFoundError` for the conversation.
   *
   * @example
   * <!-- snippet-preamble: declare const leafId: string; -->
   * ```ts
   * await cb.chat.setActiveLeaf({ userId, conversationId, messageId: leafId });
   * ```
   */
  async setActiveLeaf(input: ChatSetActiveLeafInput): Promise<void> {
    const parsed = parseInput(ChatSetActiveLeafInputSchema, input, 'active leaf');
    await setActiveLeaf(this.#ctx, parsed);
  }

  /**
   * One page of a branch, root → leaf order: the path from the conversation's root to `leafId`
   * (default: the active leaf, which is the newest message unless `setActiveLeaf` chose another).
   * The first page holds the newest `limit` messages; `nextCursor` leads to the older ones. This is
   * the view a UI shows for a branched conversation (`history` and `latest` keep returning every
   * message of every branch by time); for a conversation never branched it equals `history`.
   * One indexed statement per page (a recursive walk up the parents).
   *
   * Throws `ValidationError` (bad cursor, a leaf not in the conversation, limit over
   * `chat.maxPageSize`), `ForbiddenError` / `NotFoundError` for the conversation.
   *
   * @example
   * ```ts
   * let page = await cb.chat.path({ userId, conversationId, limit: 50 });
   * while (page.nextCursor) {
   *   page = await cb.chat.path({ userId, conversationId, limit: 50, cursor: page.nextCursor });
   * }
   * ```
   */
  async path(input: ChatPathInput): Promise<ChatPage<ChatMessage>> {
    const parsed = parseInput(ChatPathInputSchema, input, 'path query');
    const query = {
      userId: parsed.userId,
      conversationId: parsed.conversationId,
      leafId: parsed.leafId,
      limit: this.#limit(parsed.limit, 50),
      cursor: parsed.cursor,
    };
    const page = await this.#ctx.onReplica((ctx) => pathPage(ctx, query));
    const owners = this.#readOwners(parsed.userId, page.items);
    if (owners !== undefined) await this.#recordReads(owners, 'history', parsed.conversationId);
    return page;
  }

  /**
   * The siblings of a message (the messages with its parent, itself included) in creation order,
   * and its position among them: the `< 2/3 >` arrows of a chat UI. Any participant may read them.
   * Throws `ValidationError`, `ForbiddenError` (an id the caller cannot see), `NotFoundError`.
   *
   * @example
   * <!-- snippet-preamble: declare const answerId: string; -->
   * ```ts
   * const { items, index } = await cb.chat.siblings({ userId, messageId: answerId });
   * console.log(`< ${index + 1}/${items.length} >`);
   * ```
   */
  async siblings(input: ChatSiblingsInput): Promise<ChatSiblings> {
    const parsed = parseInput(ChatSiblingsInputSchema, input, 'siblings query');
    const siblings = await this.#ctx.onReplica((ctx) =>
      siblingsOf(ctx, {
        userId: parsed.userId,
        messageId: parsed.messageId,
        conversationId: parsed.conversationId,
      }),
    );
    const owners = this.#readOwners(parsed.userId, siblings.items);
    if (owners !== undefined) {
      await this.#recordReads(owners, 'history', siblings.items[siblings.index]?.conversationId);
    }
    return siblings;
  }

  /**
   * The context window of the next model call: the conversation's pinned system messages (see
   * `append`'s `pinned`) and the newest messages of the branch ending at `leafId` (default: the
   * active leaf) that fit `maxTokens`, oldest first, with their token total and whether older
   * messages were left out. Tokens are counted by `countTokens`, or estimated as
   * `ceil(content.length / 4) + 4` per message. Pinned messages are always included, even when they
   * alone exceed the budget (`tokens` then exceeds `maxTokens`).
   *
   * Throws `ValidationError` before any SQL (`maxTokens` not a positive integer, a leaf not in the
   * conversation, a counter returning a non-integer), `ForbiddenError` / `NotFoundError`.
   *
   * @example
   * ```ts
   * const { messages, tokens, truncated } = await cb.chat.context({ userId, conversationId, maxTokens: 8000 });
   * ```
   */
  async context(input: ChatContextInput): Promise<ChatContextWindow> {
    const parsed = parseInput(ChatContextInputSchema, input, 'context query');
    const window = await this.#ctx.onReplica((ctx) =>
      contextWindow(ctx, {
        userId: parsed.userId,
        conversationId: parsed.conversationId,
        leafId: parsed.leafId,
        maxTokens: parsed.maxTokens,
        countTokens: parsed.countTokens,
        pageSize: Math.min(200, this.#ctx.config.chat.maxPageSize),
      }),
    );
    const owners = this.#readOwners(parsed.userId, window.messages);
    if (owners !== undefined) await this.#recordReads(owners, 'history', parsed.conversationId);
    return window;
  }

  /**
   * The checked content and parts of a message to write (`append`, `edit`, `regenerate`): parts
   * against the configured limits and serialized, the content defaulting to the parts' text (see
   * ChatAppendInput.content) and checked against `chat.maxMessageBytes`, and the parts' searchable
   * text. Throws `ValidationError` at `path` (never with a value) before any SQL.
   */
  #textAndParts(
    content: string | undefined,
    parts: readonly ChatPart[] | undefined,
    path: readonly (string | number)[],
  ): { content: string; parts: string | null; partsSearch: string | null } {
    const options = this.#ctx.config.chat;
    const max = options.maxMessageBytes;
    const stored = parts === undefined ? null : checkParts(parts, options, [...path, 'parts']);
    // Parts only: the content is their text (see ChatAppendInput.content).
    const text = content ?? textOfParts(parts ?? []);
    if (Buffer.byteLength(text, 'utf8') > max) {
      const where = [...path, 'content'];
      throw new ValidationError(`invalid message at ${where.join('.')}: too large`, [
        { path: where, message: `exceeds ${max} UTF-8 bytes`, code: 'too_big' },
      ]);
    }
    return {
      content: text,
      parts: stored,
      partsSearch:
        parts === undefined
          ? null
          : partsSearchText({ content: text, parts }, { toolParts: options.searchToolParts }),
    };
  }

  /**
   * Whose chat a read under `withActor` showed to someone else: `userId` when the actor reads as
   * another user, and the owner of every returned message the actor does not own (a participant
   * reading a shared conversation). Undefined (nothing to record, no await) otherwise.
   */
  #readOwners(userId: string, messages: readonly ChatMessage[]): string[] | undefined {
    const actor = this.#ctx.actor;
    if (actor === undefined) return undefined;
    const owners = new Set<string>();
    if (actor.userId !== userId) owners.add(userId);
    for (const message of messages) if (message.userId !== actor.userId) owners.add(message.userId);
    return owners.size === 0 ? undefined : [...owners];
  }

  async #recordReads(
    owners: readonly string[],
    what: 'history' | 'search',
    conversationId: string | undefined,
  ): Promise<void> {
    for (const owner of owners) await recordChatRead(this.#ctx, owner, what, conversationId);
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
    const text = this.#textAndParts(message.content, message.parts, path);
    if (message.usage !== undefined && message.role !== 'assistant') {
      const where = [...path, 'usage'];
      throw new ValidationError(`invalid message at ${where.join('.')}: usage is for assistant messages`, [
        { path: where, message: 'only assistant messages carry usage', code: 'custom' },
      ]);
    }
    if (message.pinned === true && message.role !== 'system') {
      const where = [...path, 'pinned'];
      throw new ValidationError(`invalid message at ${where.join('.')}: only system messages are pinned`, [
        { path: where, message: 'only system messages can be pinned', code: 'custom' },
      ]);
    }
    return {
      userId: message.userId,
      conversationId: message.conversationId,
      role: message.role,
      ...text,
      metadata: this.#checkMetadata(message.metadata, 'metadata', path),
      clientId: message.id,
      usage: message.usage,
      parentId: message.parentId,
      pinned: message.pinned,
    };
  }
}
