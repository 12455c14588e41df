import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';

/**
 * carebase's field envelope, format 1, as text: `cb1:` + base64 of
 * `version (1 byte, 0x01) || data-key version (uint32 BE) || iv (12) || AES-256-GCM ciphertext || tag (16)`.
 * The associated data (the row's identity) is not stored: the reader recomputes it from the row,
 * so a ciphertext moved to another row fails authentication.
 */
export const ENVELOPE_PREFIX = 'cb1:';
const FORMAT = 1;
const HEADER = 1 + 4 + 12;
const TAG = 16;

/** Why {@link openEnvelope} failed. */
export type EnvelopeFailure = 'malformed' | 'tampered';

function decode(envelope: string): Buffer | undefined {
  if (!envelope.startsWith(ENVELOPE_PREFIX)) return undefined;
  // Characters outside base64 are skipped by the decoder; whatever they did to the bytes, the
  // tag check then fails (tampered), so no separate scan of the text is needed.
  const bytes = Buffer.from(envelope.slice(ENVELOPE_PREFIX.length), 'base64');
  if (bytes.length < HEADER + TAG || bytes[0] !== FORMAT) return undefined;
  return bytes;
}

/**
 * Encrypts `plaintext` with `key` (32 bytes; a `KeyObject` made once per key saves ~60% of the
 * per-call cost of a raw Buffer) bound to `aad`.
 */
export function sealEnvelope(
  key: KeyObject | Buffer,
  keyVersion: number,
  plaintext: string,
  aad: string,
): string {
  const header = Buffer.allocUnsafe(HEADER);
  header[0] = FORMAT;
  header.writeUInt32BE(keyVersion, 1);
  const iv = randomBytes(12);
  iv.copy(header, 5);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The header is authenticated too: a changed key version is tampering, not a key lookup.
  cipher.setAAD(Buffer.concat([header, Buffer.from(aad, 'utf8')]));
  const body = cipher.update(plaintext, 'utf8');
  const final = cipher.final();
  return ENVELOPE_PREFIX + Buffer.concat([header, body, final, cipher.getAuthTag()]).toString('base64');
}

/**
 * Decrypts {@link sealEnvelope}'s output with the key `keyOf` returns for the envelope's data-key
 * version (undefined: no such key). Returns the plaintext, or the failure: never throws a crypto
 * error, never returns unauthenticated bytes. The text is decoded once.
 */
export function openEnvelope(
  keyOf: (version: number) => KeyObject | Buffer | undefined,
  envelope: string,
  aad: string,
):
  | { readonly ok: true; readonly plaintext: string }
  | { readonly ok: false; readonly reason: EnvelopeFailure | 'missing_key' } {
  const bytes = decode(envelope);
  if (bytes === undefined) return { ok: false, reason: 'malformed' };
  const key = keyOf(bytes.readUInt32BE(1));
  if (key === undefined) return { ok: false, reason: 'missing_key' };
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(5, HEADER));
    // The associated data (header || aad) in one buffer written in place: no concat, no copy of aad.
    const associated = Buffer.allocUnsafe(HEADER + Buffer.byteLength(aad, 'utf8'));
    bytes.copy(associated, 0, 0, HEADER);
    associated.write(aad, HEADER, 'utf8');
    decipher.setAAD(associated);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
    // final() checks the tag (throws when it does not match). The plaintext is decoded once, after
    // the check: no streaming UTF-8 decoder (GCM's update returns every byte, final() none).
    const body = decipher.update(bytes.subarray(HEADER, bytes.length - TAG));
    decipher.final();
    return { ok: true, plaintext: body.toString('utf8') };
  } catch {
    return { ok: false, reason: 'tampered' };
  }
}
