import { createHmac } from 'node:crypto';

/**
 * The prefix of every pseudonym: names the scheme and version (`ps1_` + 43 base64url characters).
 *
 * @example
 * ```ts
 * import { PSEUDONYM_PREFIX } from 'carebase';
 * const looksLikePseudonym = (value: string) => value.startsWith(PSEUDONYM_PREFIX) && value.length === 47;
 * ```
 */
export const PSEUDONYM_PREFIX = 'ps1_';

/**
 * HMAC-SHA256 under `key` of `len(purpose) || purpose || value` (UTF-8, length as uint32 BE),
 * base64url without padding, prefixed {@link PSEUDONYM_PREFIX}. The length prefix separates the
 * purpose from the value, so ("a", "bc") and ("ab", "c") never collide.
 */
export function computePseudonym(key: Buffer, value: string, purpose: string): string {
  const purposeBytes = Buffer.from(purpose, 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(purposeBytes.length, 0);
  const mac = createHmac('sha256', key)
    .update('carebase.pseudonym.v1\u0000')
    .update(length)
    .update(purposeBytes)
    .update(value, 'utf8')
    .digest('base64url');
  return PSEUDONYM_PREFIX + mac;
}
