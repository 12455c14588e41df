import type { RepositoryContext } from '../context.js';
import { generateSessionToken, hashSessionToken } from '../sessions/session-token.js';

/** Live challenges kept per account: a password that is right cannot fill the table. */
export const MAX_LIVE_CHALLENGES = 10;

/** Whether the account has a confirmed TOTP enrolment. */
export async function hasConfirmedMfa(ctx: RepositoryContext, userId: string): Promise<boolean> {
  const row = await ctx.db
    .selectFrom('user_mfa')
    .select('user_id')
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Opens a second-factor challenge for `userId` on `ctx` (inside a transaction): a 256-bit token of
 * which only the SHA-256 is stored, valid for `users.mfa.challengeTtlMs`. Expired challenges of
 * every account are deleted on the way, and an account keeps at most its
 * {@link MAX_LIVE_CHALLENGES} newest, so the table holds a bounded number of live challenges.
 */
export async function openMfaChallenge(
  ctx: RepositoryContext,
  userId: string,
): Promise<{ readonly challenge: string; readonly expiresAt: Date }> {
  const challenge = generateSessionToken();
  const tokenHash = hashSessionToken(challenge);
  const now = ctx.now();
  const expiresAt = new Date(now.getTime() + ctx.config.users.mfa.challengeTtlMs);
  await ctx.db.deleteFrom('mfa_challenges').where('expires_at', '<', now).execute();
  await ctx.db
    .insertInto('mfa_challenges')
    .values({
      user_id: userId,
      token_hash: tokenHash,
      created_at: now,
      expires_at: expiresAt,
    })
    .execute();
  // Keep this one and the newest others (ties at one instant are broken arbitrarily among the others).
  await ctx.db
    .deleteFrom('mfa_challenges')
    .where('user_id', '=', userId)
    .where('token_hash', '<>', tokenHash)
    .where('token_hash', 'not in', (eb) =>
      eb
        .selectFrom('mfa_challenges')
        .select('token_hash')
        .where('user_id', '=', userId)
        .where('token_hash', '<>', tokenHash)
        .orderBy('created_at', 'desc')
        .limit(MAX_LIVE_CHALLENGES - 1),
    )
    .execute();
  return { challenge, expiresAt };
}
