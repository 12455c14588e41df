import { sql } from 'kysely';
import { z } from 'zod';
import { AbortError, UnsupportedOperationError } from '../../errors/errors.js';
import { parseInput } from '../../validation/parse-input.js';
import type { MessageRow } from '../chat/chat-types.js';
import { openConversationRows, openMessageRows } from '../chat/sealed-rows.js';
import { indexedText } from '../chat/searchable-text.js';
import type { RepositoryContext } from '../context.js';
import { sealedTokens } from '../encryption/blind-tokens.js';
import { createDataKey, DATA_KEYS, type UserKeys, userKeys, writeKeys } from '../encryption/data-keys.js';
import {
  ENVELOPE_KEY_VERSION,
  sealConversationFields,
  sealMessageFields,
} from '../encryption/row-envelopes.js';

/**
 * Options of `cb.encryption.rotateDataKey()`.
 *
 * @example
 * ```ts
 * import { RotateDataKeyOptionsSchema } from 'carebase/schemas';
 * const options = RotateDataKeyOptionsSchema.parse({ batchSize: 500, removeOldKeys: true });
 * ```
 */
export const RotateDataKeyOptionsSchema = z.strictObject({
  /** Rows per batch (one short transaction each). @default 500 */
  batchSize: z.number().int().min(1).max(10_000).optional(),
  /**
   * Delete the user's older data key versions once no row is sealed under them. Only when every
   * carebase instance writing for this user has picked up the new version (restarted, or its key
   * cache entry evicted): a row an instance still seals under a deleted version cannot be read.
   * @default false
   */
  removeOldKeys: z.boolean().optional(),
  /** Called after each batch. */
  onProgress: z
    .custom<(progress: RotateDataKeyProgress) => void>((value) => typeof value === 'function')
    .optional(),
  /** Stops between batches (`AbortError`); what was committed stays re-encrypted, and a rerun resumes. */
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
});

/**
 * Options of `cb.encryption.rotateDataKey()`; see {@link RotateDataKeyOptionsSchema}.
 *
 * @example
 * ```ts
 * import type { RotateDataKeyOptions } from 'carebase';
 * const options: RotateDataKeyOptions = { batchSize: 500, onProgress: (p) => console.log(p.table, p.reencrypted) };
 * await cb.encryption.rotateDataKey(userId, options);
 * ```
 */
export interface RotateDataKeyOptions {
  /** @default 500 */
  readonly batchSize?: number | undefined;
  /** @default false */
  readonly removeOldKeys?: boolean | undefined;
  readonly onProgress?: ((progress: RotateDataKeyProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Progress of `rotateDataKey()`, reported after each batch.
 *
 * @example
 * ```ts
 * import type { RotateDataKeyProgress } from 'carebase';
 * const log = (p: RotateDataKeyProgress) => console.log(`${p.table}: ${p.reencrypted} rows re-encrypted`);
 * await cb.encryption.rotateDataKey(userId, { onProgress: log });
 * ```
 */
export interface RotateDataKeyProgress {
  readonly table: 'conversations' | 'chat_messages';
  /** Rows of `table` re-encrypted by this run so far. */
  readonly reencrypted: number;
}

/**
 * What `rotateDataKey()` did.
 *
 * @example
 * ```ts
 * import type { RotateDataKeyResult } from 'carebase';
 * const result: RotateDataKeyResult = await cb.encryption.rotateDataKey(userId);
 * console.log(`now on version ${result.version}: ${result.messages} messages re-encrypted`);
 * ```
 */
export interface RotateDataKeyResult {
  /** The data key version every row of the user is now sealed under. */
  readonly version: number;
  /** Rows re-encrypted by this run. */
  readonly conversations: number;
  readonly messages: number;
  /** Older versions deleted (`removeOldKeys`). */
  readonly removedVersions: number;
}

const UserIdSchema = z.uuid();

/** Rows sealed under a data key version older than `version`. */
const olderThan = (version: number) => sql<boolean>`${ENVELOPE_KEY_VERSION} < ${version}`;

/**
 * Data key rotation of one user (docs/encryption.md, "Rotating a user's data key"): a new data key
 * version, then every conversation and message of the user (their key range: the conversations
 * they own and every message in them) re-sealed under it, with its blind index tokens remade, in
 * batches of short transactions. Online: every version stays readable while rows move, and new
 * writes use the new version. Resumable: while rows are sealed under an older version a call
 * continues the rotation (no new version); once none is, a call starts a new one.
 */
export async function rotateDataKey(
  ctx: RepositoryContext,
  userId: string,
  options: RotateDataKeyOptions = {},
): Promise<RotateDataKeyResult> {
  const parsedUser = parseInput(UserIdSchema, userId, 'rotateDataKey userId');
  const parsed = parseInput(RotateDataKeyOptionsSchema, options, 'rotateDataKey options');
  const encryption = ctx.config.encryption;
  if (encryption === undefined) {
    throw new UnsupportedOperationError('encryption.rotateDataKey', 'no encryption keyring is configured');
  }
  const batchSize = parsed.batchSize ?? 500;
  const version = await targetVersion(ctx, parsedUser);
  const cache = ctx.runtime.state(DATA_KEYS);
  cache.forget(parsedUser);
  const reseal = async (
    table: RotateDataKeyProgress['table'],
    batch: (tx: RepositoryContext, keys: UserKeys) => Promise<number>,
  ): Promise<number> => {
    let reencrypted = 0;
    for (;;) {
      if (parsed.signal?.aborted === true) throw new AbortError({ cause: parsed.signal.reason });
      const count = await ctx.atomic(async (tx) => {
        const keys = (await userKeys(tx, [parsedUser], false)).get(parsedUser);
        return keys === undefined ? 0 : batch(tx, keys);
      });
      reencrypted += count;
      if (count > 0) parsed.onProgress?.({ table, reencrypted });
      if (count < batchSize) return reencrypted;
    }
  };
  const conversations = await reseal('conversations', async (tx, keys) => {
    const rows = await tx.db
      .selectFrom('conversations')
      .select(['id', 'user_id', 'title', 'metadata'])
      .where('user_id', '=', parsedUser)
      .where(olderThan(version))
      .orderBy('id')
      .limit(batchSize)
      .forUpdate()
      .execute();
    if (rows.length === 0) return 0;
    const opened = await openConversationRows(tx, rows);
    const sealed = opened.map((r) =>
      sealConversationFields(
        keys,
        parsedUser,
        r.id,
        r.title,
        r.metadata === null ? null : JSON.stringify(r.metadata),
      ),
    );
    await sql`update ${sql.id(ctx.config.schema, 'conversations')} c set metadata = v.metadata::jsonb
      from unnest(${opened.map((r) => r.id)}::uuid[], ${sealed}::text[]) as v(id, metadata)
      where c.user_id = ${parsedUser}::uuid and c.id = v.id`.execute(tx.db);
    return rows.length;
  });
  const messages = await reseal('chat_messages', async (tx, keys) => {
    const rows = (await tx.db
      .selectFrom('chat_messages')
      .select([
        'id',
        'user_id',
        'conversation_id',
        'client_id',
        'role',
        'content',
        'metadata',
        'created_at',
        'author_user_id',
        'parent_id',
        'pinned',
        'parts',
      ])
      .where('user_id', '=', parsedUser)
      .where(olderThan(version))
      .orderBy('id')
      .limit(batchSize)
      .forUpdate()
      .execute()) as MessageRow[];
    if (rows.length === 0) return 0;
    const opened = await openMessageRows(tx, rows);
    const sealed = opened.map((r) =>
      sealMessageFields(
        keys,
        { userId: parsedUser, conversationId: r.conversation_id, role: r.role, createdAt: r.created_at },
        r.content,
        r.metadata === null ? null : JSON.stringify(r.metadata),
        r.parts === null ? null : JSON.stringify(r.parts),
      ),
    );
    const tokens = opened.map((r) =>
      sealedTokens(
        keys,
        parsedUser,
        indexedText(r.content, r.parts?.parts ?? null, { toolParts: ctx.config.chat.searchToolParts }),
      ),
    );
    await sql`update ${sql.id(ctx.config.schema, 'chat_messages')} m
      set metadata = v.metadata::jsonb, search_tokens = v.search_tokens::bigint[]
      from unnest(${opened.map((r) => r.id)}::bigint[], ${sealed}::text[], ${tokens}::text[])
        as v(id, metadata, search_tokens)
      where m.user_id = ${parsedUser}::uuid and m.id = v.id`.execute(tx.db);
    return rows.length;
  });
  const removedVersions = parsed.removeOldKeys === true ? await removeOldKeys(ctx, parsedUser, version) : 0;
  cache.forget(parsedUser);
  return { version, conversations, messages, removedVersions };
}

/**
 * The version to rotate to: the newest when rows are still sealed under an older one (a rotation
 * to resume), else a new version (created under the keyring's current KEK). A user without a data
 * key gets their first (`NotFoundError` for an unknown user): nothing of theirs is sealed yet.
 */
async function targetVersion(ctx: RepositoryContext, userId: string): Promise<number> {
  const encryption = ctx.config.encryption;
  if (encryption === undefined) throw new Error('carebase: encryption off');
  const newest = await ctx.db
    .selectFrom('encryption_data_keys')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const current = newest?.version ?? null;
  if (current === null) {
    await writeKeys(ctx, [userId]);
    return 1;
  }
  for (const table of ['chat_messages', 'conversations'] as const) {
    const behind = await ctx.db
      .selectFrom(table)
      .select(sql<number>`1`.as('one'))
      .where('user_id', '=', userId)
      .where(olderThan(current))
      .limit(1)
      .executeTakeFirst();
    if (behind !== undefined) return current;
  }
  await createDataKey(ctx, encryption.keyring, userId, current + 1);
  return current + 1;
}

/**
 * Deletes the user's data key versions below `version`, with the key rows locked, once no row is
 * sealed under them (rows a concurrent writer sealed under an old version since: nothing deleted,
 * a rerun re-seals them first).
 */
async function removeOldKeys(ctx: RepositoryContext, userId: string, version: number): Promise<number> {
  return ctx.atomic(async (tx) => {
    await tx.db
      .selectFrom('encryption_data_keys')
      .select('version')
      .where('user_id', '=', userId)
      .forUpdate()
      .execute();
    for (const table of ['chat_messages', 'conversations'] as const) {
      const behind = await tx.db
        .selectFrom(table)
        .select(sql<number>`1`.as('one'))
        .where('user_id', '=', userId)
        .where(olderThan(version))
        .limit(1)
        .executeTakeFirst();
      if (behind !== undefined) return 0;
    }
    const deleted = await tx.db
      .deleteFrom('encryption_data_keys')
      .where('user_id', '=', userId)
      .where('version', '<', version)
      .executeTakeFirst();
    return Number(deleted.numDeletedRows);
  });
}
