import type { Generated } from 'kysely';

/**
 * `account_tokens`: the live password-reset and email-verification token of each account (one per
 * purpose), stored as the SHA-256 of the token. `token_hash` never leaves the users repository.
 *
 * @example
 * ```ts
 * // How many password resets are outstanding (never select token_hash).
 * const pending = await cb.db
 *   .selectFrom('account_tokens')
 *   .select((eb) => eb.fn.countAll<number>().as('n'))
 *   .where('purpose', '=', 'password_reset')
 *   .where('expires_at', '>', new Date())
 *   .executeTakeFirstOrThrow();
 * ```
 */
export interface AccountTokensTable {
  user_id: string;
  purpose: 'password_reset' | 'email_verification';
  token_hash: Buffer;
  email: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
}
