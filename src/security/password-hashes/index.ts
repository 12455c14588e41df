import { BCRYPT_PATTERN, bcryptRounds, verifyBcrypt } from './bcrypt.js';
import {
  BCRYPT_SHA256_PREFIX,
  bcryptSha256Rounds,
  hashBcryptSha256,
  isBcryptSha256,
  verifyBcryptSha256,
} from './bcrypt-sha256.js';

/**
 * Every password hash format carebase verifies, dispatched on the stored string's prefix. New
 * hashes are always written in the current format ({@link hashPassword}); a stored hash in any
 * other format, or below the configured cost, verifies as before and is rehashed into the current
 * one at the next successful login ({@link needsRehash}).
 */
export { BCRYPT_SHA256_PREFIX };

/** Hashes `password` in the current format (`$cb-bcrypt-sha256$v=1$`) at bcrypt `cost`. */
export function hashPassword(password: string, cost: number): Promise<string> {
  return hashBcryptSha256(password, cost);
}

/**
 * True when `password` matches `stored`, in whichever known format it is. Never throws: an
 * unknown or malformed format is `false`.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith('$cb-bcrypt-sha256$')) return verifyBcryptSha256(password, stored);
  if (BCRYPT_PATTERN.test(stored)) return verifyBcrypt(password, stored);
  return false;
}

/** True when `stored` is not in the current format or is below `cost`. */
export function needsRehash(stored: string, cost: number): boolean {
  if (isBcryptSha256(stored)) return (bcryptSha256Rounds(stored) ?? 0) < cost;
  return true;
}

/** Whether carebase can verify `stored` at all (a known format). */
export function isKnownPasswordHash(stored: string): boolean {
  return isBcryptSha256(stored) || (BCRYPT_PATTERN.test(stored) && bcryptRounds(stored) !== undefined);
}
