import type { Generated } from 'kysely';

/**
 * `sessions`: one row per login session. Only the SHA-256 of the token is stored
 * (`token_hash`, 32 bytes); it never leaves the sessions repository.
 *
 * @example
 * ```ts
 * const count = await cb.db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).execute();
 * ```
 */
export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: Buffer;
  ip: string | null;
  user_agent: string | null;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  expires_at: Date;
  revoked_at: Date | null;
  revoke_reason: string | null;
  updated_at: Generated<Date>;
  authenticated_at: Date | null;
  mfa_at: Date | null;
}
