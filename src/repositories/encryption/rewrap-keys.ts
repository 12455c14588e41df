import { sql } from 'kysely';
import { z } from 'zod';
import { AbortError, UnsupportedOperationError } from '../../errors/errors.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import { dataKeyContext, unwrapDataKey } from './data-keys.js';

/**
 * Options of `cb.encryption.rewrapKeys()`.
 *
 * @example
 * ```ts
 * import { RewrapKeysOptionsSchema } from 'carebase/schemas';
 * const options = RewrapKeysOptionsSchema.parse({ batchSize: 200 });
 * ```
 */
export const RewrapKeysOptionsSchema = z.strictObject({
  /** Data keys per batch (one short transaction each). @default 500 */
  batchSize: z.number().int().min(1).max(10_000).optional(),
  /** Called after each batch with the number rewrapped so far. */
  onProgress: z
    .custom<(progress: RewrapKeysProgress) => void>((value) => typeof value === 'function')
    .optional(),
  /** Stops between batches (`AbortError`); a rerun resumes. */
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
});

/**
 * Options of `cb.encryption.rewrapKeys()`; see {@link RewrapKeysOptionsSchema}.
 *
 * @example
 * ```ts
 * import type { RewrapKeysOptions } from 'carebase';
 * const options: RewrapKeysOptions = { batchSize: 200, onProgress: (p) => console.log(p.rewrapped) };
 * await cb.encryption.rewrapKeys(options);
 * ```
 */
export interface RewrapKeysOptions {
  /** @default 500 */
  readonly batchSize?: number | undefined;
  readonly onProgress?: ((progress: RewrapKeysProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Progress of `rewrapKeys()`, reported after each batch.
 *
 * @example
 * ```ts
 * import type { RewrapKeysProgress } from 'carebase';
 * const log = (p: RewrapKeysProgress) => console.log(`${p.rewrapped} data keys moved to the current KEK`);
 * await cb.encryption.rewrapKeys({ onProgress: log });
 * ```
 */
export interface RewrapKeysProgress {
  /** Data keys rewrapped by this run so far. */
  readonly rewrapped: number;
}

/**
 * KEK rotation: rewraps every data key that is wrapped by a KEK other than the keyring's current
 * one, in batches (keyset over the primary key, short transactions that lock only their rows).
 * The data keys themselves do not change, so no message is re-encrypted and caches stay valid.
 * Resumable and idempotent: keys already under the current KEK are skipped. Returns how many were
 * rewrapped. Throws `UnsupportedOperationError` without encryption, `ValidationError` for bad
 * options, `AbortError` when `signal` fires, `DecryptionError` (naming the user) for a data key
 * no KEK of the keyring opens.
 */
export async function rewrapKeys(
  ctx: RepositoryContext,
  options: RewrapKeysOptions = {},
): Promise<{ readonly rewrapped: number }> {
  const parsed = parseInput(RewrapKeysOptionsSchema, options, 'rewrapKeys options');
  const encryption = ctx.config.encryption;
  if (encryption === undefined) {
    throw new UnsupportedOperationError('encryption.rewrapKeys', 'no encryption keyring is configured');
  }
  const keyring = encryption.keyring;
  const current = keyring.currentKeyId;
  const batchSize = parsed.batchSize ?? 500;
  let after = { userId: '00000000-0000-0000-0000-000000000000', version: 0 };
  let rewrapped = 0;
  for (;;) {
    if (parsed.signal?.aborted === true) throw new AbortError({ cause: parsed.signal.reason });
    const done = await ctx.atomic(async (tx) => {
      const rows = await tx.db
        .selectFrom('encryption_data_keys')
        .select(['user_id', 'version', 'kek_id', 'wrapped_key'])
        .where('kek_id', '<>', current)
        .where(sql<boolean>`(user_id, version) > (${after.userId}::uuid, ${after.version}::integer)`)
        .orderBy('user_id')
        .orderBy('version')
        .limit(batchSize)
        .forUpdate()
        .execute();
      for (const row of rows) {
        const key = await unwrapDataKey(keyring, row.user_id, row);
        const context = dataKeyContext(row.user_id, row.version);
        const bytes = key.export();
        let wrapped: Uint8Array;
        try {
          wrapped = await keyring.wrapKey({ keyId: current, dataKey: bytes, context });
        } finally {
          bytes.fill(0);
        }
        await tx.db
          .updateTable('encryption_data_keys')
          .set({ kek_id: current, wrapped_key: Buffer.from(wrapped) })
          .where('user_id', '=', row.user_id)
          .where('version', '=', row.version)
          .execute();
      }
      const last = rows[rows.length - 1];
      return { count: rows.length, last };
    });
    if (done.count === 0 || done.last === undefined) return { rewrapped };
    rewrapped += done.count;
    after = { userId: done.last.user_id, version: done.last.version };
    parsed.onProgress?.({ rewrapped });
    if (done.count < batchSize) return { rewrapped };
  }
}
