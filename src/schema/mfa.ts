import type { Generated } from 'kysely';

/**
 * `user_mfa`: an account's TOTP enrolment. `totp_secret` is AES-256-GCM ciphertext under the
 * host's `users.mfa.encryptionKey`; it never leaves the users repository.
 *
 * @example
 * ```ts
 * const enrolled = await cb.db
 *   .selectFrom('user_mfa')
 *   .select((eb) => eb.fn.countAll<number>().as('n'))
 *   .where('confirmed_at', 'is not', null)
 *   .executeTakeFirstOrThrow();
 * ```
 */
export interface UserMfaTable {
  user_id: string;
  totp_secret: Buffer;
  key_id: string;
  confirmed_at: Date | null;
  last_used_step: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/**
 * `mfa_backup_codes`: single-use backup codes, as SHA-256 digests.
 *
 * @example
 * ```ts
 * const left = await cb.db.selectFrom('mfa_backup_codes').select('created_at').where('user_id', '=', userId).execute();
 * ```
 */
export interface MfaBackupCodesTable {
  user_id: string;
  code_hash: Buffer;
  created_at: Generated<Date>;
}

/**
 * `mfa_challenges`: pending second-factor logins (token digests), single-use, short-lived.
 *
 * @example
 * ```ts
 * const open = await cb.db.selectFrom('mfa_challenges').select(['user_id', 'expires_at']).execute();
 * ```
 */
export interface MfaChallengesTable {
  user_id: string;
  token_hash: Buffer;
  created_at: Generated<Date>;
  expires_at: Date;
}
