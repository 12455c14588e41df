import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { ResolvedEncryptionOptions } from '../../config/encryption-options.js';
import {
  ConstraintViolationError,
  DecryptionError,
  type DecryptionFailure,
  NotFoundError,
} from '../../errors/errors.js';
import { InvalidWrappedKeyError, type Keyring, UnknownKeyError } from '../../security/keyring.js';
import { type RepositoryContext, RuntimeState } from '../context.js';

/** One user's unwrapped data keys by version, and the version new envelopes use. */
export interface UserKeys {
  readonly current: { readonly version: number; readonly key: KeyObject };
  readonly byVersion: ReadonlyMap<number, KeyObject>;
}

/** The context a data key's wrap is bound to: its owner and version. */
export function dataKeyContext(userId: string, version: number): string {
  return `carebase.dek.v1:${userId}:${version}`;
}

/**
 * A map bounded to `limit` entries, least recently used evicted: the instance's unwrapped data
 * keys (only keys read from committed rows, see {@link userKeys}; `forget` drops a user on
 * erasure) and the chat's default-conversation ids.
 */
export class LruCache<V> {
  readonly #limit: number;
  readonly #entries = new Map<string, V>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** The instance's data key cache (bounded by `encryption.keyCacheSize`). */
export const DATA_KEYS = new RuntimeState(
  'encryption data keys',
  (runtime) => new LruCache<UserKeys>(runtime.config.encryption?.keyCacheSize ?? 1),
);

/** The encryption options, or undefined when encryption is off. */
export function encryptionOf(ctx: RepositoryContext): ResolvedEncryptionOptions | undefined {
  return ctx.config.encryption;
}

/** Unwraps one stored data key, or throws `DecryptionError` naming its user. */
export async function unwrapDataKey(
  keyring: Keyring,
  userId: string,
  row: { version: number; kek_id: string; wrapped_key: Buffer },
): Promise<KeyObject> {
  let failure: DecryptionFailure = 'unknown_key';
  let cause: unknown;
  try {
    const key = await keyring.unwrapKey({
      keyId: row.kek_id,
      wrapped: row.wrapped_key,
      context: dataKeyContext(userId, row.version),
    });
    if (key.length === 32) {
      const secret = createSecretKey(key);
      key.fill(0);
      return secret;
    }
    failure = 'tampered';
  } catch (error) {
    // The built-in keyring's errors are crypto errors: name the failure, keep no cause. A host
    // keyring's (a KMS adapter's network error) is kept as the cause.
    if (error instanceof UnknownKeyError) failure = 'unknown_key';
    else if (error instanceof InvalidWrappedKeyError) failure = 'tampered';
    else cause = error;
  }
  throw new DecryptionError('encryption_data_keys', userId, failure, cause === undefined ? {} : { cause });
}

/**
 * Generates and stores `version` of a user's data key (1: their first; higher: a data key
 * rotation), unless a concurrent writer did first.
 */
export async function createDataKey(
  ctx: RepositoryContext,
  keyring: Keyring,
  userId: string,
  version = 1,
): Promise<void> {
  const dataKey = randomBytes(32);
  const keyId = keyring.currentKeyId;
  let wrapped: Uint8Array;
  try {
    wrapped = await keyring.wrapKey({ keyId, dataKey, context: dataKeyContext(userId, version) });
  } finally {
    dataKey.fill(0);
  }
  try {
    await ctx.db
      .insertInto('encryption_data_keys')
      .values({ user_id: userId, version, kek_id: keyId, wrapped_key: Buffer.from(wrapped) })
      .onConflict((oc) => oc.columns(['user_id', 'version']).doNothing())
      .execute();
  } catch (error) {
    if (error instanceof ConstraintViolationError && error.kind === 'foreign_key') {
      throw new NotFoundError('user', { cause: error });
    }
    throw error;
  }
}

/**
 * The data keys of each of `userIds` (one query for all on a cache miss). With `create`, a user
 * without a key gets one (a write); without, such a user is absent from the result (their
 * envelopes then fail as `missing_key`: erased, or never written encrypted).
 *
 * Keys are cached only when read outside a transaction: a key created or read inside one may
 * still roll back, and a cached key that was never committed would seal rows nobody can open.
 */
export async function userKeys(
  ctx: RepositoryContext,
  userIds: readonly string[],
  create: boolean,
): Promise<Map<string, UserKeys>> {
  const encryption = encryptionOf(ctx);
  const found = new Map<string, UserKeys>();
  if (encryption === undefined) return found;
  const cache = ctx.runtime.state(DATA_KEYS);
  const missing: string[] = [];
  for (const userId of new Set(userIds)) {
    const cached = cache.get(userId);
    if (cached === undefined) missing.push(userId);
    else found.set(userId, cached);
  }
  if (missing.length === 0) return found;
  for (let attempt = 0; attempt < 2 && missing.length > 0; attempt++) {
    const rows = await ctx.db
      .selectFrom('encryption_data_keys')
      .select(['user_id', 'version', 'kek_id', 'wrapped_key'])
      .where('user_id', 'in', missing)
      .orderBy('user_id')
      .orderBy('version')
      .execute();
    const byUser = new Map<string, typeof rows>();
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
    for (const [userId, keyRows] of byUser) {
      const byVersion = new Map<number, KeyObject>();
      for (const row of keyRows)
        byVersion.set(row.version, await unwrapDataKey(encryption.keyring, userId, row));
      const version = Math.max(...byVersion.keys());
      const keys: UserKeys = { current: { version, key: byVersion.get(version) as KeyObject }, byVersion };
      found.set(userId, keys);
      if (!ctx.inTransaction) cache.set(userId, keys);
    }
    const absent = missing.filter((userId) => !byUser.has(userId));
    missing.length = 0;
    if (!create || attempt > 0) break;
    for (const userId of absent) await createDataKey(ctx, encryption.keyring, userId);
    missing.push(...absent);
  }
  return found;
}

/** The keys to seal a write for `userId` (created on first use). */
export async function writeKeys(
  ctx: RepositoryContext,
  userIds: readonly string[],
): Promise<Map<string, UserKeys>> {
  const keys = await userKeys(ctx, userIds, true);
  for (const userId of userIds) {
    if (!keys.has(userId)) throw new DecryptionError('encryption_data_keys', userId, 'missing_key');
  }
  return keys;
}

/**
 * Deletes every data key of `userId` (crypto-shredding) and drops it from this instance's cache.
 * Other instances drop it when it is evicted or they restart: the erased user's rows are gone
 * from the database anyway, so a cached key only ever opens copies made elsewhere in memory.
 */
export async function destroyDataKeys(ctx: RepositoryContext, userId: string): Promise<number> {
  const deleted = await ctx.db
    .deleteFrom('encryption_data_keys')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  ctx.runtime.state(DATA_KEYS).forget(userId);
  return Number(deleted.numDeletedRows);
}
