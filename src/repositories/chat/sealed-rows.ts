import { ConstraintViolationError, DecryptionError, NotFoundError } from '../../errors/errors.js';
import type { JsonValue } from '../../schema/audit.js';
import { type RepositoryContext, RuntimeState } from '../context.js';
import { sealedTokens } from '../encryption/blind-tokens.js';
import { DATA_KEYS, LruCache, type UserKeys, userKeys, writeKeys } from '../encryption/data-keys.js';
import {
  checkPlaintextRow,
  conversationAad,
  messageAad,
  openFields,
  sealConversationFields,
  sealMessageFields,
} from '../encryption/row-envelopes.js';
import type { NewMessage } from './append-one.js';
import type { ConversationRow, MessageRow } from './chat-types.js';
import type { StoredParts } from './check-parts.js';
import { assertParticipant } from './ownership.js';
import { indexedText } from './searchable-text.js';

/** The columns a message row needs to be opened. */
type SealableMessage = Pick<
  MessageRow,
  'id' | 'user_id' | 'conversation_id' | 'role' | 'content' | 'metadata' | 'created_at' | 'parts'
>;
/** The columns a conversation row needs to be opened. */
type SealableConversation = Pick<ConversationRow, 'id' | 'user_id' | 'title' | 'metadata'>;

/**
 * The chat side of envelope encryption (docs/encryption.md): the two points where rows are
 * written (values sealed before a statement) and read back (rows opened before they are mapped
 * to `ChatMessage` / `Conversation`). With encryption off, writes pass through unchanged and reads
 * only check that no row is sealed.
 */

/** Default-conversation ids by user, when encryption is on (an envelope is bound to its conversation). */
const DEFAULT_CONVERSATIONS = new RuntimeState(
  'chat default conversations',
  (runtime) => new LruCache<string>(runtime.config.encryption?.keyCacheSize ?? 1),
);

/**
 * Conversation owners by conversation id, when encryption is on. A conversation's owner (its rows'
 * `user_id`, whose key seals them) never changes, so once a participation check found it, later
 * appends seal without asking again: the append statement itself still checks the caller's
 * participation and inserts nothing for a caller who may not write (who then gets the typed error).
 */
const CONVERSATION_OWNERS = new RuntimeState(
  'chat conversation owners',
  (runtime) => new LruCache<string>(Math.max(1_000, runtime.config.encryption?.keyCacheSize ?? 1)),
);

/** The user's default conversation, created on first use (race-free, like append's own). */
async function defaultConversation(ctx: RepositoryContext, userId: string, now: Date): Promise<string> {
  const cache = ctx.runtime.state(DEFAULT_CONVERSATIONS);
  const cached = cache.get(userId);
  if (cached !== undefined) return cached;
  for (let attempt = 0; ; attempt++) {
    const found = await ctx.db
      .selectFrom('conversations')
      .select('id')
      .where('user_id', '=', userId)
      .where('is_default', '=', true)
      .executeTakeFirst();
    if (found !== undefined) {
      if (!ctx.inTransaction) cache.set(userId, found.id);
      return found.id;
    }
    if (attempt > 0) throw new Error('carebase: default conversation vanished while being created');
    try {
      await ctx.db
        .insertInto('conversations')
        .values({ user_id: userId, is_default: true, last_message_at: now, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('user_id').where('is_default', '=', true).doNothing())
        .execute();
    } catch (error) {
      if (error instanceof ConstraintViolationError && error.kind === 'foreign_key') {
        throw new NotFoundError('user', { cause: error });
      }
      throw error;
    }
  }
}

/** Forgets cached default conversations (after a write to one failed: it may have been deleted). */
export function forgetDefaultConversations(ctx: RepositoryContext, userIds: readonly string[]): void {
  const cache = ctx.runtime.state(DEFAULT_CONVERSATIONS);
  for (const userId of userIds) cache.forget(userId);
}

/**
 * The values to insert for `batch` at `now`: unchanged with encryption off; otherwise each message
 * with its default conversation resolved and its content, metadata and parts sealed into the
 * metadata column (content `''`, parts and their searchable text null). `defaulted` says whether a cached default conversation was used.
 */
export async function sealNewMessages(
  ctx: RepositoryContext,
  batch: readonly NewMessage[],
  now: Date,
): Promise<{ readonly stored: readonly NewMessage[]; readonly defaulted: boolean }> {
  if (ctx.config.encryption === undefined) return { stored: batch, defaulted: false };
  // A message is sealed under its conversation OWNER's key (its row's user_id), which is not the
  // caller in a shared conversation: the caller's participation gives it (ForbiddenError else).
  const owners = new Map<string, string>();
  const known = ctx.runtime.state(CONVERSATION_OWNERS);
  const remembered: string[] = [];
  for (const message of batch) {
    if (message.conversationId === undefined) continue;
    const key = `${message.conversationId}\u0000${message.userId}`;
    if (!owners.has(key)) {
      let owner = known.get(message.conversationId);
      if (owner === undefined) {
        owner = (await assertParticipant(ctx, message.userId, message.conversationId, 'write')).ownerId;
        known.set(message.conversationId, owner);
      } else remembered.push(message.conversationId);
      owners.set(key, owner);
    }
  }
  const ownerOf = (message: NewMessage): string =>
    message.conversationId === undefined
      ? message.userId
      : (owners.get(`${message.conversationId}\u0000${message.userId}`) as string);
  let keys: Map<string, UserKeys>;
  try {
    keys = await writeKeys(ctx, batch.map(ownerOf));
  } catch (error) {
    if (remembered.length === 0) throw error;
    // A remembered owner may be gone (an erased user): forget it, and ask, so the caller gets the
    // typed error the check gives (NotFoundError / ForbiddenError), not the key store's.
    for (const conversationId of remembered) known.forget(conversationId);
    return sealNewMessages(ctx, batch, now);
  }
  const defaults = new Map<string, string>();
  for (const message of batch) {
    if (message.conversationId === undefined && !defaults.has(message.userId)) {
      defaults.set(message.userId, await defaultConversation(ctx, message.userId, now));
    }
  }
  const stored = batch.map((message): NewMessage => {
    const conversationId = message.conversationId ?? (defaults.get(message.userId) as string);
    const owner = ownerOf(message);
    const userKeys = keys.get(owner);
    if (userKeys === undefined) throw new Error('carebase: data key missing after creation');
    const metadata = sealMessageFields(
      userKeys,
      { userId: owner, conversationId, role: message.role, createdAt: now },
      message.content,
      message.metadata,
      message.parts,
    );
    // The blind index covers what plaintext search covers: the content and the parts' searchable text.
    const text =
      message.partsSearch === null
        ? indexedText(message.content)
        : `${indexedText(message.content)}\n\n${message.partsSearch}`;
    const searchTokens = sealedTokens(userKeys, owner, text);
    // Nothing readable stays in clear: no parts, no searchable text.
    return {
      ...message,
      conversationId,
      content: '',
      metadata,
      parts: null,
      partsSearch: null,
      searchTokens,
    };
  });
  return { stored, defaulted: defaults.size > 0 };
}

/** Decrypts sealed message rows in place of their stored values (plain rows: see `plaintextReads`). */
export async function openMessageRows<R extends SealableMessage>(
  ctx: RepositoryContext,
  rows: readonly R[],
): Promise<R[]> {
  const sealedUsers = rows.flatMap((row) => (typeof row.metadata === 'string' ? [row.user_id] : []));
  if (sealedUsers.length === 0) {
    if (ctx.config.encryption !== undefined)
      for (const row of rows) checkPlaintextRow(ctx, 'chat_messages', row.id);
    return rows as R[];
  }
  return withCurrentKeys(ctx, sealedUsers, (keys) =>
    rows.map((row) => openMessageRow(ctx, row, keys.get(row.user_id))),
  );
}

/**
 * Runs `open` with the keys of `userIds`; when a row names a data key version the cached keys lack
 * (another instance rotated the user's data key since they were cached), drops the users' cache
 * entries and runs it once more with the keys read afresh.
 */
async function withCurrentKeys<T>(
  ctx: RepositoryContext,
  userIds: readonly string[],
  open: (keys: Map<string, UserKeys>) => T,
): Promise<T> {
  const keys = await userKeys(ctx, userIds, false);
  try {
    return open(keys);
  } catch (error) {
    if (!(error instanceof DecryptionError) || error.reason !== 'missing_key') throw error;
    const cache = ctx.runtime.state(DATA_KEYS);
    for (const userId of userIds) cache.forget(userId);
    return open(await userKeys(ctx, userIds, false));
  }
}

/** Decrypts one sealed message row with its user's keys (synchronous: for streamed exports). */
export function openMessageRow<R extends SealableMessage>(
  ctx: RepositoryContext,
  row: R,
  keys: Parameters<typeof openFields>[0],
): R {
  if (typeof row.metadata !== 'string') {
    if (ctx.config.encryption !== undefined) checkPlaintextRow(ctx, 'chat_messages', row.id);
    return row;
  }
  const fields = openFields(
    keys,
    row.metadata,
    messageAad({
      userId: row.user_id,
      conversationId: row.conversation_id,
      role: row.role,
      createdAt: row.created_at,
    }),
    'chat_messages',
    row.id,
  );
  return {
    ...row,
    content: fields.c as string,
    metadata: (fields.m ?? null) as JsonValue | null,
    parts: (fields.p ?? null) as StoredParts | null,
  };
}

/** The stored title and metadata of a conversation: sealed together when encryption is on. */
export async function conversationValues(
  ctx: RepositoryContext,
  userId: string,
  conversationId: string,
  title: string | null,
  metadata: string | null,
): Promise<{ readonly title: string | null; readonly metadata: string | null }> {
  if (ctx.config.encryption === undefined) return { title, metadata };
  const keys = (await writeKeys(ctx, [userId])).get(userId);
  if (keys === undefined) throw new Error('carebase: data key missing after creation');
  return { title: null, metadata: sealConversationFields(keys, userId, conversationId, title, metadata) };
}

/** Decrypts sealed conversation rows (plain rows: see `plaintextReads`). */
export async function openConversationRows<R extends SealableConversation>(
  ctx: RepositoryContext,
  rows: readonly R[],
): Promise<R[]> {
  const sealedUsers = rows.flatMap((row) => (typeof row.metadata === 'string' ? [row.user_id] : []));
  if (sealedUsers.length === 0) {
    if (ctx.config.encryption !== undefined)
      for (const row of rows) checkPlaintextRow(ctx, 'conversations', row.id);
    return rows as R[];
  }
  return withCurrentKeys(ctx, sealedUsers, (keys) => openConversations(ctx, rows, keys));
}

function openConversations<R extends SealableConversation>(
  ctx: RepositoryContext,
  rows: readonly R[],
  keys: Map<string, UserKeys>,
): R[] {
  return rows.map((row) => {
    if (typeof row.metadata !== 'string') {
      if (ctx.config.encryption !== undefined) checkPlaintextRow(ctx, 'conversations', row.id);
      return row;
    }
    const fields = openFields(
      keys.get(row.user_id),
      row.metadata,
      conversationAad(row.user_id, row.id),
      'conversations',
      row.id,
    );
    return {
      ...row,
      title: (fields.t ?? null) as string | null,
      metadata: (fields.m ?? null) as JsonValue | null,
    };
  });
}
