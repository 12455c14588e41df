import { argon2StoredForm, isArgon2Stored, verifyArgon2 } from './argon2.js';
import { HashFormatError } from './hash-format-error.js';
import { isSha256Stored, sha256StoredForm, verifySha256 } from './legacy-sha256.js';
import { isPbkdf2Stored, parsePbkdf2, verifyPbkdf2 } from './pbkdf2.js';

/** The algorithms of password hashes carebase imports. */
export type ImportedHashAlgorithm = 'bcrypt' | 'sha256' | 'pbkdf2' | 'argon2id';

/**
 * Legacy (non-bcrypt) schemes a stored hash can be in until its account next logs in.
 *
 * @example
 * ```ts
 * import type { LegacyHashScheme } from 'carebase';
 * const { byScheme } = await cb.users.legacyPasswordHashes();
 * const left: LegacyHashScheme[] = (['sha256', 'pbkdf2', 'argon2'] as const).filter((s) => byScheme[s] > 0);
 * ```
 */
export type LegacyHashScheme = 'sha256' | 'pbkdf2' | 'argon2';

/** An existing hash as a host hands it over (validated by `ImportedPasswordHash` in the users area). */
export interface ImportedHash {
  readonly algorithm: ImportedHashAlgorithm;
  readonly hash: string;
  readonly salt?: string | undefined;
  readonly saltPosition?: 'prefix' | 'suffix' | undefined;
}

const BCRYPT = /^\$2([aby])\$([0-9]{2})\$[./A-Za-z0-9]{53}$/;

/**
 * The form an imported hash is stored in: bcrypt as it is (`$2y$`, the same algorithm, as `$2b$`,
 * which the bcrypt binding reads), PBKDF2 and argon2 as they are (checked), SHA-256 as
 * `$sha256$...` (see legacy-sha256.ts). Throws {@link HashFormatError} for a malformed hash or
 * parameters carebase refuses; the error never quotes the hash.
 */
export function storedFormOf(input: ImportedHash): string {
  const hash = input.hash.trim();
  if (input.algorithm !== 'sha256' && (input.salt !== undefined || input.saltPosition !== undefined)) {
    throw new HashFormatError(
      'salt and saltPosition apply to sha256 only (the other formats carry their salt)',
    );
  }
  switch (input.algorithm) {
    case 'bcrypt': {
      const match = BCRYPT.exec(hash);
      if (match === null)
        throw new HashFormatError('not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)');
      const cost = Number(match[2]);
      if (cost < 4 || cost > 31) throw new HashFormatError('the bcrypt cost must be 4-31');
      return match[1] === 'y' ? `$2b$${hash.slice(4)}` : hash;
    }
    case 'sha256':
      return sha256StoredForm(hash, input.salt, input.saltPosition);
    case 'pbkdf2':
      parsePbkdf2(hash);
      return hash;
    case 'argon2id':
      return argon2StoredForm(hash);
  }
}

/** The legacy scheme of a stored hash, or `undefined` for bcrypt and unusable (`!...`) hashes. */
export function legacySchemeOf(stored: string): LegacyHashScheme | undefined {
  if (isSha256Stored(stored)) return 'sha256';
  if (isPbkdf2Stored(stored)) return 'pbkdf2';
  if (isArgon2Stored(stored)) return 'argon2';
  return undefined;
}

/**
 * True when `password` matches a legacy stored hash. Never throws: a malformed hash, or one in no
 * legacy scheme, does not match.
 */
export async function verifyLegacyHash(password: string, stored: string): Promise<boolean> {
  switch (legacySchemeOf(stored)) {
    case 'sha256':
      return verifySha256(password, stored);
    case 'pbkdf2':
      return verifyPbkdf2(password, stored);
    case 'argon2':
      return verifyArgon2(password, stored);
    default:
      return false;
  }
}

/**
 * SQL conditions (for `users.password_hash`) matching each legacy scheme's stored form, by prefix:
 * the counts of `cb.users.legacyPasswordHashes()` and `carebase doctor`.
 */
export const LEGACY_HASH_PATTERNS: Readonly<Record<LegacyHashScheme, readonly string[]>> = Object.freeze({
  sha256: ['$sha256$%'],
  pbkdf2: ['pbkdf2:%', 'pbkdf2\\_%', '$pbkdf2%'],
  argon2: ['$argon2%'],
});

export { HashFormatError };
