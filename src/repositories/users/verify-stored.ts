import {
  type LegacyHashScheme,
  legacySchemeOf,
  verifyLegacyHash,
} from '../../security/password-hashes/imported-hash.js';
import type { PasswordHasher } from './password-hasher.js';

/** What verifying a password against a stored hash found. */
export interface StoredPasswordCheck {
  readonly matches: boolean;
  /** The legacy scheme the stored hash is in (it must then be replaced by bcrypt on success). */
  readonly legacy: LegacyHashScheme | undefined;
}

/**
 * Verifies `password` against whatever `stored` holds, in the time a bcrypt verification at the
 * configured cost takes whatever the format, so that unknown users, wrong passwords on bcrypt
 * accounts and wrong passwords on imported legacy accounts cannot be told apart by timing:
 * - bcrypt: verified as usual;
 * - a legacy hash (SHA-256, PBKDF2, argon2): verified while a dummy bcrypt verification runs at the
 *   same time (both off the event loop), so the answer comes after the slower of the two;
 * - an unusable hash (`!...`, accounts created without a password): the dummy only, never a match.
 */
export async function verifyStoredPassword(
  hasher: PasswordHasher,
  password: string,
  stored: string,
): Promise<StoredPasswordCheck> {
  const legacy = legacySchemeOf(stored);
  if (legacy !== undefined) {
    const [matches] = await Promise.all([verifyLegacyHash(password, stored), hasher.verifyDummy(password)]);
    return { matches, legacy };
  }
  if (stored.startsWith('!')) {
    await hasher.verifyDummy(password);
    return { matches: false, legacy: undefined };
  }
  return { matches: await hasher.verify(password, stored), legacy: undefined };
}
