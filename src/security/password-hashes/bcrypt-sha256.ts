import { createHmac } from 'node:crypto';
import bcrypt from 'bcrypt';
import { BCRYPT_PATTERN, bcryptRounds } from './bcrypt.js';

/**
 * carebase's password hash format, version 1:
 *
 *     $cb-bcrypt-sha256$v=1$2b$<cost>$<bcrypt salt and hash>
 *
 * The password is normalised to Unicode NFC (so the same passphrase typed on two keyboards
 * matches), then pre-hashed with HMAC-SHA-256 under a fixed domain key and base64-encoded (44
 * ASCII bytes, no NUL), and that is hashed with bcrypt. bcrypt therefore never sees more than 72
 * bytes: a passphrase of any length counts in full instead of being truncated or refused (ASVS
 * 5.0 6.2.9). The HMAC (not a bare SHA-256) keeps hashes of unrelated systems' SHA-256 password
 * dumps from being tested against these directly ("password shucking" needs the domain key too).
 * A later version changes the `v=` field; every stored version keeps verifying.
 */
export const BCRYPT_SHA256_PREFIX = '$cb-bcrypt-sha256$v=1';

const DOMAIN_KEY = 'carebase password pre-hash v1';

function preHash(password: string): string {
  return createHmac('sha256', DOMAIN_KEY).update(password.normalize('NFC'), 'utf8').digest('base64');
}

/** Whether `stored` is in this format. */
export function isBcryptSha256(stored: string): boolean {
  return (
    stored.startsWith(`${BCRYPT_SHA256_PREFIX}$`) &&
    BCRYPT_PATTERN.test(stored.slice(BCRYPT_SHA256_PREFIX.length))
  );
}

/** Hashes `password` in this format at bcrypt `cost` (bcrypt's async API: the libuv pool). */
export async function hashBcryptSha256(password: string, cost: number): Promise<string> {
  return BCRYPT_SHA256_PREFIX + (await bcrypt.hash(preHash(password), cost));
}

/** Verifies `password` against a hash in this format. Never throws: a malformed hash is `false`. */
export async function verifyBcryptSha256(password: string, stored: string): Promise<boolean> {
  if (!isBcryptSha256(stored)) return false;
  try {
    return await bcrypt.compare(preHash(password), stored.slice(BCRYPT_SHA256_PREFIX.length));
  } catch {
    return false;
  }
}

/** The bcrypt cost of a hash in this format, or `undefined`. */
export function bcryptSha256Rounds(stored: string): number | undefined {
  return isBcryptSha256(stored) ? bcryptRounds(stored.slice(BCRYPT_SHA256_PREFIX.length)) : undefined;
}
