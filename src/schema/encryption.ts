import type { Generated } from 'kysely';

/**
 * `encryption_data_keys`: each user's data keys, wrapped by a key-encryption key of the host's
 * keyring (`kek_id`); the key bytes themselves are never stored in clear (docs/encryption.md).
 *
 * @example
 * ```ts
 * // How many data keys each KEK still wraps (before retiring an old KEK).
 * const perKek = await cb.db
 *   .selectFrom('encryption_data_keys')
 *   .select(['kek_id', (eb) => eb.fn.countAll<string>().as('keys')])
 *   .groupBy('kek_id')
 *   .execute();
 * ```
 */
export interface EncryptionDataKeysTable {
  user_id: string;
  version: number;
  kek_id: string;
  wrapped_key: Buffer;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
