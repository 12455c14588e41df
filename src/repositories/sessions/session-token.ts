import { createHash, randomBytes } from 'node:crypto';

/** A session token: 32 random bytes, base64url without padding (43 characters). */
export const SESSION_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Creates a new session token: 256 bits from `crypto.randomBytes`, URL-safe. */
export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The SHA-256 of a token's ASCII text: the only form of a token carebase stores. */
export function hashSessionToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
