import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A 256-bit key and its id (the first 8 bytes of its SHA-256, hex: names the key, reveals nothing). */
export interface BoxKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Keys for {@link sealSecret} / {@link openSecret}: `current` encrypts, every key decrypts. */
export interface BoxKeyring {
  readonly current: BoxKey;
  readonly all: ReadonlyMap<string, BoxKey>;
}

/** The id of a 32-byte key. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** A keyring from a current key and older ones (each 32 bytes). */
export function keyringOf(current: Buffer, previous: readonly Buffer[] = []): BoxKeyring {
  const keys = [current, ...previous].map((key) => ({ id: keyIdOf(key), key }));
  return { current: keys[0] as BoxKey, all: new Map(keys.map((key) => [key.id, key])) };
}

/**
 * AES-256-GCM under the keyring's current key: `iv (12) || ciphertext || tag (16)`, authenticated
 * with `aad` (the row's identity, so a ciphertext copied to another row does not decrypt).
 */
export function sealSecret(
  keyring: BoxKeyring,
  plaintext: Buffer,
  aad: string,
): { readonly keyId: string; readonly sealed: Buffer } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.current.key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { keyId: keyring.current.id, sealed: Buffer.concat([iv, body, cipher.getAuthTag()]) };
}

/** Decrypts {@link sealSecret}'s output, or `undefined` when the key is unknown or it was altered. */
export function openSecret(
  keyring: BoxKeyring,
  keyId: string,
  sealed: Buffer,
  aad: string,
): Buffer | undefined {
  const key = keyring.all.get(keyId);
  if (key === undefined || sealed.length < 29) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}
