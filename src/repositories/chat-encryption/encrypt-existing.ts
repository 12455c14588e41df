import { sql } from 'kysely';
import { z } from 'zod';
import { AbortError, UnsupportedOperationError } from '../../errors/errors.js';
import type { JsonValue } from '../../schema/audit.js';
import { parseInput } from '../../validation/parse-input.js';
import { indexedText } from '../chat/searchable-text.js';
import type { RepositoryContext } from '../context.js';
import { sealedTokens } from '../encryption/blind-tokens.js';
import { type UserKeys, writeKeys } from '../encryption/data-keys.js';
import { sealConversationFields, sealMessageFields } from '../encryption/row-envelopes.js';

/**
 * Options of `cb.encryption.encryptExisting()`.
 *
 * @example
 * ```ts
 * import { EncryptExistingOptionsSchema } from 'carebase/schemas';
 * const options = EncryptExistingOptionsSchema.parse({ batchSize: 500 });
 * ```
 */
export const EncryptExistingOptionsSchema = z.strictObject({
  /** Rows per batch (one short transaction each). @default 1000 */
  batchSize: z.number().int().min(1).max(10_000).optional(),
  /** Called after each batch. */
  onProgress: z
    .custom<(progress: EncryptExistingProgress) => void>((value) => typeof value === 'function')
    .optional(),
  /** Stops between batches (`AbortError`); what was committed stays encrypted, and a rerun resumes. */
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
});

/**
 * Options of `cb.encryption.encryptExisting()`; see {@link EncryptExistingOptionsSchema}.
 *
 * @example
 * ```ts
 * import type { EncryptExistingOptions } from 'carebase';
 * const options: EncryptExistingOptions = {
 *   batchSize: 500,
 *   onProgress: (p) => console.log(p.table, p.encrypted),
 *   signal: AbortSignal.timeout(60 * 60_000),
 * };
 * await cb.encryption.encryptExisting(options);
 * ```
 */
export interface EncryptExistingOptions {
  /** @default 1000 */
  readonly batchSize?: number | undefined;
  readonly onProgress?: ((progress: EncryptExistingProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Progress of `encryptExisting()`, reported after each batch.
 *
 * @example
 * ```ts
 * import type { EncryptExistingProgress } from 'carebase';
 * const log = (p: EncryptExistingProgress) => console.log(`${p.table}: ${p.encrypted} rows encrypted`);
 * await cb.encryption.encryptExisting({ onProgress: log });
 * ```
 */
export interface EncryptExistingProgress {
  readonly table: 'conversations' | 'chat_messages';
  /** Rows of `table` encrypted by this run so far. */
  readonly encrypted: number;
}

/**
 * What `encryptExisting()` did: rows encrypted by this run, per table.
 *
 * @example
 * ```ts
 * import type { EncryptExistingResult } from 'carebase';
 * const result: EncryptExistingResult = await cb.encryption.encryptExisting();
 * console.log(result.conversations, result.messages);
 * ```
 */
export interface EncryptExistingResult {
  readonly conversations: number;
  readonly messages: number;
}

interface PlainMessage {
  id: string;
  user_id: string;
  conversation_id: string;
  role: string;
  content: string;
  metadata: JsonValue | null;
  created_at: Date;
}

interface PlainConversation {
  id: string;
  user_id: string;
  title: string | null;
  metadata: JsonValue | null;
}

/** Rows not yet sealed: plain metadata is an object or null, a sealed row's is a JSON string. */
const PLAIN = sql<boolean>`jsonb_typeof(metadata) is distinct from 'string'`;

/**
 * Encrypts every conversation and message stored in clear, in batches of short transactions
 * (keyset over the primary key; each batch locks only its own rows), so the application keeps
 * running. Resumable: rows already sealed are skipped, so a rerun after a crash or abort
 * continues where it stopped. Idempotent. Throws `UnsupportedOperationError` when encryption is
 * off, `ValidationError` for bad options, `AbortError` when `signal` fires.
 */
export async function encryptExisting(
  ctx: RepositoryContext,
  options: EncryptExistingOptions = {},
): Promise<EncryptExistingResult> {
  const parsed = parseInput(EncryptExistingOptionsSchema, options, 'encryptExisting options');
  if (ctx.config.encryption === undefined) {
    throw new UnsupportedOperationError('encryption.encryptExisting', 'no encryption keyring is configured');
  }
  const batchSize = parsed.batchSize ?? 1000;
  const conversations = await sealTable(ctx, 'conversations', batchSize, parsed, async (tx, after) => {
    const rows = (await tx.db
      .selectFrom('conversations')
      .select(['id', 'user_id', 'title', 'metadata'])
      .where(PLAIN)
      .where(sql<boolean>`(user_id, id) > (${after.userId}::uuid, ${after.id}::uuid)`)
      .orderBy('user_id')
      .orderBy('id')
      .limit(batchSize)
      .forUpdate()
      .execute()) as PlainConversation[];
    if (rows.length === 0) return undefined;
    const keys = await writeKeys(
      tx,
      rows.map((r) => r.user_id),
    );
    const sealed = rows.map((r) =>
      sealConversationFields(
        keys.get(r.user_id) as UserKeys,
        r.user_id,
        r.id,
        r.title,
        r.metadata === null ? null : JSON.stringify(r.metadata),
      ),
    );
    await sql`update ${sql.id(ctx.config.schema, 'conversations')} c
      set title = null, metadata = v.metadata::jsonb
      from unnest(${rows.map((r) => r.user_id)}::uuid[], ${rows.map((r) => r.id)}::uuid[], ${sealed}::text[])
        as v(user_id, id, metadata)
      where c.user_id = v.user_id and c.id = v.id`.execute(tx.db);
    const last = rows[rows.length - 1] as PlainConversation;
    return { count: rows.length, after: { userId: last.user_id, id: last.id } };
  });
  const messages = await sealTable(ctx, 'chat_messages', batchSize, parsed, async (tx, after) => {
    const rows = (await tx.db
      .selectFrom('chat_messages')
      .select(['id', 'user_id', 'conversation_id', 'role', 'content', 'metadata', 'created_at'])
      .where(PLAIN)
      .where(sql<boolean>`(user_id, id) > (${after.userId}::uuid, ${after.id}::bigint)`)
      .orderBy('user_id')
      .orderBy('id')
      .limit(batchSize)
      .forUpdate()
      .execute()) as PlainMessage[];
    if (rows.length === 0) return undefined;
    const keys = await writeKeys(
      tx,
      rows.map((r) => r.user_id),
    );
    const sealed = rows.map((r) =>
      sealMessageFields(
        keys.get(r.user_id) as UserKeys,
        { userId: r.user_id, conversationId: r.conversation_id, role: r.role, createdAt: r.created_at },
        r.content,
        r.metadata === null ? null : JSON.stringify(r.metadata),
      ),
    );
    const tokens = rows.map((r) =>
      sealedTokens(keys.get(r.user_id) as UserKeys, r.user_id, indexedText(r.content)),
    );
    await sql`update ${sql.id(ctx.config.schema, 'chat_messages')} m
      set content = '', metadata = v.metadata::jsonb, search_tokens = v.search_tokens::bigint[]
      from unnest(${rows.map((r) => r.user_id)}::uuid[], ${rows.map((r) => r.id)}::bigint[], ${sealed}::text[],
        ${tokens}::text[]) as v(user_id, id, metadata, search_tokens)
      where m.user_id = v.user_id and m.id = v.id`.execute(tx.db);
    const last = rows[rows.length - 1] as PlainMessage;
    return { count: rows.length, after: { userId: last.user_id, id: last.id } };
  });
  return { conversations, messages };
}

type Position = { readonly userId: string; readonly id: string };

async function sealTable(
  ctx: RepositoryContext,
  table: EncryptExistingProgress['table'],
  batchSize: number,
  options: {
    onProgress?: ((progress: EncryptExistingProgress) => void) | undefined;
    signal?: AbortSignal | undefined;
  },
  batch: (tx: RepositoryContext, after: Position) => Promise<{ count: number; after: Position } | undefined>,
): Promise<number> {
  let after: Position = {
    userId: '00000000-0000-0000-0000-000000000000',
    id: table === 'chat_messages' ? '-9223372036854775808' : '00000000-0000-0000-0000-000000000000',
  };
  let encrypted = 0;
  for (;;) {
    if (options.signal?.aborted === true) throw new AbortError({ cause: options.signal.reason });
    const done = await ctx.atomic((tx) => batch(tx, after));
    if (done === undefined) return encrypted;
    encrypted += done.count;
    after = done.after;
    options.onProgress?.({ table, encrypted });
    if (done.count < batchSize) return encrypted;
  }
}
