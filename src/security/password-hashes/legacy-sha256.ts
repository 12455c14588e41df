import { createHash } from 'node:crypto';
import { digestsEqual } from './compare.js';
import { HashFormatError } from './hash-format-error.js';

/**
 * SHA-256 password hashes as apps wrote them by hand: `sha256(password)` in hex, or with a salt
 * concatenated before (`sha256(salt + password)`, `saltPosition: 'prefix'`) or after it
 * (`'suffix'`). Stored by carebase as `$sha256$<hex>` or `$sha256$<prefix|suffix>$<salt as
 * base64url of its UTF-8>$<hex>`, and replaced by bcrypt at the account's next successful login.
 */
const STORED = /^\$sha256\$(?:(prefix|suffix)\$([A-Za-z0-9_-]*)\$)?([0-9a-f]{64})$/;

/** The stored form of an imported SHA-256 hash; throws {@link HashFormatError}. */
export function sha256StoredForm(hex: string, salt?: string, saltPosition?: 'prefix' | 'suffix'): string {
  const digest = hex.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new HashFormatError('must be 64 hexadecimal digits (a SHA-256)');
  if (salt === undefined) {
    if (saltPosition !== undefined) throw new HashFormatError('saltPosition needs a salt');
    return `$sha256$${digest}`;
  }
  if (salt.length === 0 || salt.length > 1024)
    throw new HashFormatError('the salt must be 1-1024 characters');
  return `$sha256$${saltPosition ?? 'prefix'}$${Buffer.from(salt, 'utf8').toString('base64url')}$${digest}`;
}

/** True when `stored` is this module's format. */
export function isSha256Stored(stored: string): boolean {
  return stored.startsWith('$sha256$');
}

/** True when `password` matches the stored SHA-256 hash (false for a malformed one). */
export function verifySha256(password: string, stored: string): boolean {
  const match = STORED.exec(stored);
  if (match === null) return false;
  const [, position, salt, hex] = match;
  const saltText = salt === undefined ? '' : Buffer.from(salt, 'base64url').toString('utf8');
  const input = position === 'suffix' ? `${password}${saltText}` : `${saltText}${password}`;
  return digestsEqual(createHash('sha256').update(input, 'utf8').digest(), Buffer.from(hex ?? '', 'hex'));
}
