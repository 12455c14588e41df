import type { RepositoryContext } from '../context.js';
import { generateSessionToken, hashSessionToken } from '../sessions/session-token.js';

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
 * every account are deleted on the way, so the table holds live challenges only.
 */
export async function openMfaChallenge(
  ctx: RepositoryContext,
  userId: string,
): Promise<{ readonly challenge: string; readonly expiresAt: Date }> {
  const challenge = generateSessionToken();
  const now = ctx.now();
  const expiresAt = new Date(now.getTime() + ctx.config.users.mfa.challengeTtlMs);
  await ctx.db.deleteFrom('mfa_challenges').where('expires_at', '<', now).execute();
  await ctx.db
    .insertInto('mfa_challenges')
    .values({
      user_id: userId,
      token_hash: hashSessionToken(challenge),
      created_at: now,
      expires_at: expiresAt,
    })
    .execute();
  return { challenge, expiresAt };
}
