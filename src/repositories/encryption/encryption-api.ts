import type { RepositoryContext } from '../context.js';
import {
  type EncryptExistingOptions,
  type EncryptExistingResult,
  encryptExisting,
} from './encrypt-existing.js';

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
}
