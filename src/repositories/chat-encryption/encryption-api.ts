import type { RepositoryContext } from '../context.js';
import { type RewrapKeysOptions, rewrapKeys } from '../encryption/rewrap-keys.js';
import {
  type EncryptExistingOptions,
  type EncryptExistingResult,
  encryptExisting,
} from './encrypt-existing.js';
import { type RotateDataKeyOptions, type RotateDataKeyResult, rotateDataKey } from './rotate-data-key.js';

/**
 * Maintenance of envelope encryption (docs/encryption.md). Reach it as `cb.encryption`.
 *
 * @example
 * ```ts
 * const result = await cb.encryption.encryptExisting({ batchSize: 1000 });
 * console.log(`${result.messages} messages, ${result.conversations} conversations encrypted`);
 * ```
 */
export class EncryptionApi {
  readonly #ctx: RepositoryContext;

  /** @internal Use `cb.encryption`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Encrypts every conversation and message still stored in clear, online: batches of
   * `batchSize` rows, each in its own short transaction that locks only its rows, while the
   * application goes on reading and writing. Resumable and idempotent: sealed rows are skipped,
   * so a rerun after a crash or an abort continues where it stopped. Progress is reported after
   * each batch. Needs the `encryption` option; throws `UnsupportedOperationError` without it,
   * `ValidationError` for bad options, `AbortError` when `signal` fires (between batches).
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * const result = await cb.encryption.encryptExisting({
   *   batchSize: 500,
   *   signal: controller.signal,
   *   onProgress: ({ table, encrypted }) => console.log(`${table}: ${encrypted}`),
   * });
   * ```
   */
  encryptExisting(options: EncryptExistingOptions = {}): Promise<EncryptExistingResult> {
    return encryptExisting(this.#ctx, options);
  }

  /**
   * KEK rotation: rewraps every data key still wrapped by a KEK other than the keyring's
   * `currentKeyId`, online, in batches (resumable, idempotent, progress after each batch). Put the
   * new KEK in the keyring as current with the old ones still present, run this, then remove the
   * old KEK from the keyring. Messages are not re-encrypted (the data keys do not change). Throws
   * `UnsupportedOperationError` without encryption, `ValidationError`, `AbortError`, or
   * `DecryptionError` naming the user whose data key no KEK of the keyring opens.
   *
   * @example
   * ```ts
   * const { rewrapped } = await cb.encryption.rewrapKeys({ onProgress: (p) => console.log(p.rewrapped) });
   * ```
   */
  rewrapKeys(options: RewrapKeysOptions = {}): Promise<{ readonly rewrapped: number }> {
    return rewrapKeys(this.#ctx, options);
  }

  /**
   * Data key rotation of one user: creates a new version of the user's data key, then re-encrypts
   * every conversation they own and every message in those conversations under it (and remakes
   * the messages' blind index tokens, whose key derives from the data key), online, in batches of
   * short transactions (each locks only its rows). Reads work throughout: a row names the version
   * it is sealed with, and every version stays until the end. New writes use the new version at
   * once on this instance (other instances when their key cache entry is refreshed).
   *
   * Resumable and idempotent: while rows of the user are still sealed under an older version, a
   * call continues that rotation instead of starting another; once none is, a call starts a new
   * one. With `removeOldKeys`, the older versions are deleted at the end when no row uses them
   * (see the option for when that is safe). Progress is reported after each batch. Throws
   * `UnsupportedOperationError` without encryption, `ValidationError` for a bad user id or
   * options, `NotFoundError` for an unknown user, `AbortError` when `signal` fires (between
   * batches), `DecryptionError` naming a row that does not open.
   *
   * @example
   * ```ts
   * const result = await cb.encryption.rotateDataKey(userId, {
   *   batchSize: 500,
   *   onProgress: ({ table, reencrypted }) => console.log(`${table}: ${reencrypted}`),
   * });
   * console.log(`version ${result.version}: ${result.messages} messages re-encrypted`);
   * ```
   */
  rotateDataKey(userId: string, options: RotateDataKeyOptions = {}): Promise<RotateDataKeyResult> {
    return rotateDataKey(this.#ctx, userId, options);
  }
}
