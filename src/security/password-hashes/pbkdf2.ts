import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { digestsEqual } from './compare.js';
import { HashFormatError } from './hash-format-error.js';

const pbkdf2Async = promisify(pbkdf2);

/** At most this many iterations: an imported hash must not turn a login into a denial of service. */
export const PBKDF2_MAX_ITERATIONS = 5_000_000;

type Digest = 'sha1' | 'sha256' | 'sha512';

/** A PBKDF2 hash read from one of the formats below. */
interface Pbkdf2Hash {
  readonly digest: Digest;
  readonly iterations: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const DIGESTS = new Set<string>(['sha1', 'sha256', 'sha512']);

/** passlib's "adapted base64": `.` for `+`, no padding. */
function ab64(text: string): Buffer {
  return Buffer.from(text.replaceAll('.', '+'), 'base64');
}

function iterationsOf(text: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text))
    throw new HashFormatError('the iteration count is not a positive integer');
  const iterations = Number(text);
  if (iterations > PBKDF2_MAX_ITERATIONS) {
    throw new HashFormatError(`more than ${PBKDF2_MAX_ITERATIONS} iterations`);
  }
  return iterations;
}

function digestOf(name: string): Digest {
  if (!DIGESTS.has(name)) throw new HashFormatError('the digest must be sha1, sha256 or sha512');
  return name as Digest;
}

/**
 * Reads a PBKDF2 hash in the formats Python apps store:
 * - Werkzeug (Flask): `pbkdf2:sha256:600000$<salt>$<hex>` (the salt's text is the salt);
 * - Django: `pbkdf2_sha256$<iterations>$<salt>$<base64>`;
 * - passlib: `$pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 hash>` (`$pbkdf2$` is SHA-1).
 * Throws {@link HashFormatError} (never quoting the hash) for anything else.
 */
export function parsePbkdf2(text: string): Pbkdf2Hash {
  let match = /^pbkdf2:(sha1|sha256|sha512):([0-9]+)\$([^$]+)\$([0-9a-f]+)$/.exec(text);
  if (match !== null) {
    return {
      digest: digestOf(match[1] ?? ''),
      iterations: iterationsOf(match[2] ?? ''),
      salt: Buffer.from(match[3] ?? '', 'utf8'),
      hash: checkLength(Buffer.from(match[4] ?? '', 'hex')),
    };
  }
  match = /^pbkdf2_(sha1|sha256|sha512)\$([0-9]+)\$([^$]+)\$([A-Za-z0-9+/]+={0,2})$/.exec(text);
  if (match !== null) {
    return {
      digest: digestOf(match[1] ?? ''),
      iterations: iterationsOf(match[2] ?? ''),
      salt: Buffer.from(match[3] ?? '', 'utf8'),
      hash: checkLength(Buffer.from(match[4] ?? '', 'base64')),
    };
  }
  match = /^\$pbkdf2(?:-(sha256|sha512))?\$([0-9]+)\$([A-Za-z0-9./]+)\$([A-Za-z0-9./]+)$/.exec(text);
  if (match !== null) {
    return {
      digest: digestOf(match[1] ?? 'sha1'),
      iterations: iterationsOf(match[2] ?? ''),
      salt: ab64(match[3] ?? ''),
      hash: checkLength(ab64(match[4] ?? '')),
    };
  }
  throw new HashFormatError(
    'not a PBKDF2 hash in Werkzeug (pbkdf2:sha256:N$salt$hex), Django (pbkdf2_sha256$N$salt$b64) or passlib ($pbkdf2-sha256$N$salt$hash) format',
  );
}

function checkLength(hash: Buffer): Buffer {
  if (hash.length < 16 || hash.length > 64) throw new HashFormatError('the derived key must be 16-64 bytes');
  return hash;
}

/** True when `stored` is one of the PBKDF2 formats (by prefix). */
export function isPbkdf2Stored(stored: string): boolean {
  return stored.startsWith('pbkdf2:') || stored.startsWith('pbkdf2_') || stored.startsWith('$pbkdf2');
}

/** True when `password` matches the PBKDF2 hash (false for a malformed one). */
export async function verifyPbkdf2(password: string, stored: string): Promise<boolean> {
  let parsed: Pbkdf2Hash;
  try {
    parsed = parsePbkdf2(stored);
  } catch {
    return false;
  }
  const derived = await pbkdf2Async(
    password,
    parsed.salt,
    parsed.iterations,
    parsed.hash.length,
    parsed.digest,
  );
  return digestsEqual(derived, parsed.hash);
}
