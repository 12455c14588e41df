import type { RepositoryContext } from '../context.js';
import { generateSessionToken, hashSessionToken, SESSION_TOKEN_PATTERN } from '../sessions/session-token.js';

/** What an account token is for. */
export type AccountTokenPurpose = 'password_reset' | 'email_verification';

/**
 * Issues a token for `userId` on `ctx` (inside a transaction): 256 random bits of which only the
 * SHA-256 is stored, replacing the account's previous token of the same purpose (so older links
 * stop working), and deleting expired tokens of any account on the way (the table stays small).
 */
export async function issueAccountToken(
  ctx: RepositoryContext,
  userId: string,
  purpose: AccountTokenPurpose,
  ttlMs: number,
  email: string | null,
): Promise<{ readonly token: string; readonly expiresAt: Date }> {
  const token = generateSessionToken();
  const now = ctx.now();
  const expiresAt = new Date(now.getTime() + ttlMs);
  await ctx.db.deleteFrom('account_tokens').where('expires_at', '<', now).execute();
  await ctx.db
    .insertInto('account_tokens')
    .values({
      user_id: userId,
      purpose,
      token_hash: hashSessionToken(token),
      email,
      created_at: now,
      expires_at: expiresAt,
    })
    .onConflict((oc) =>
      oc.columns(['user_id', 'purpose']).doUpdateSet({
        token_hash: (eb) => eb.ref('excluded.token_hash'),
        email: (eb) => eb.ref('excluded.email'),
        created_at: (eb) => eb.ref('excluded.created_at'),
        expires_at: (eb) => eb.ref('excluded.expires_at'),
      }),
    )
    .execute();
  return { token, expiresAt };
}

/** A live token's row, found without consuming it. */
export interface AccountTokenRow {
  readonly user_id: string;
  readonly email: string | null;
}

/** Finds the live (unexpired) token `token` of `purpose`, or `undefined` (also for a malformed one). */
export async function findAccountToken(
  ctx: RepositoryContext,
  token: string,
  purpose: AccountTokenPurpose,
): Promise<AccountTokenRow | undefined> {
  if (!SESSION_TOKEN_PATTERN.test(token)) return undefined;
  return ctx.db
    .selectFrom('account_tokens')
    .select(['user_id', 'email'])
    .where('token_hash', '=', hashSessionToken(token))
    .where('purpose', '=', purpose)
    .where('expires_at', '>', ctx.now())
    .executeTakeFirst();
}

/**
 * Consumes the live token `token` of `purpose` on `ctx` (inside the transaction that acts on it):
 * deletes its row and returns it, or `undefined` when it is unknown, expired, or was consumed or
 * replaced meanwhile (the DELETE serializes concurrent completions: one wins).
 */
export async function consumeAccountToken(
  ctx: RepositoryContext,
  token: string,
  purpose: AccountTokenPurpose,
): Promise<AccountTokenRow | undefined> {
  if (!SESSION_TOKEN_PATTERN.test(token)) return undefined;
  return ctx.db
    .deleteFrom('account_tokens')
    .where('token_hash', '=', hashSessionToken(token))
    .where('purpose', '=', purpose)
    .where('expires_at', '>', ctx.now())
    .returning(['user_id', 'email'])
    .executeTakeFirst();
}

/** Deletes the account's tokens of `purpose` (a password change voids a pending reset). */
export async function voidAccountTokens(
  ctx: RepositoryContext,
  userId: string,
  purpose: AccountTokenPurpose,
): Promise<void> {
  await ctx.db
    .deleteFrom('account_tokens')
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .execute();
}

/**
 * The equal-timing path of a reset request for an unknown login: the same statements' round trips
 * as {@link issueAccountToken} (a purge of expired rows and a lookup by a fresh hash), writing
 * nothing.
 */
export async function spendTokenTime(ctx: RepositoryContext): Promise<void> {
  await ctx.db.deleteFrom('account_tokens').where('expires_at', '<', ctx.now()).execute();
  await ctx.db
    .selectFrom('account_tokens')
    .select('user_id')
    .where('token_hash', '=', hashSessionToken(generateSessionToken()))
    .forUpdate()
    .execute();
}
