import { HashFormatError } from './hash-format-error.js';

/** Bounds of an imported argon2 hash's parameters: a login must not become a denial of service. */
const MAX_MEMORY_KIB = 1_048_576;
const MAX_TIME = 64;
const MAX_PARALLELISM = 16;

const PHC =
  /^\$argon2(id|i|d)\$v=(16|19)\$m=([0-9]{1,8}),t=([0-9]{1,3}),p=([0-9]{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * Checks an argon2 hash in the PHC string format (`$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`,
 * as argon2-cffi, libsodium and the `argon2` packages write it) and returns it unchanged.
 * Throws {@link HashFormatError} for anything else or for parameters past the bounds
 * (memory 1 GiB, 64 passes, 16 lanes).
 */
export function argon2StoredForm(text: string): string {
  const match = PHC.exec(text);
  if (match === null)
    throw new HashFormatError(
      'not an argon2 hash in PHC format ($argon2id$v=19$m=...,t=...,p=...$salt$hash)',
    );
  const memory = Number(match[3]);
  const time = Number(match[4]);
  const lanes = Number(match[5]);
  if (
    memory < 8 ||
    memory > MAX_MEMORY_KIB ||
    time < 1 ||
    time > MAX_TIME ||
    lanes < 1 ||
    lanes > MAX_PARALLELISM
  ) {
    throw new HashFormatError('argon2 parameters out of bounds (m <= 1 GiB, t <= 64, p <= 16)');
  }
  return text;
}

/** True when `stored` is an argon2 PHC string. */
export function isArgon2Stored(stored: string): boolean {
  return stored.startsWith('$argon2');
}

/**
 * True when `password` matches the argon2 hash, verified by `@node-rs/argon2` (prebuilt Rust
 * bindings, loaded on first use, off the event loop). False for a malformed hash.
 */
export async function verifyArgon2(password: string, stored: string): Promise<boolean> {
  try {
    argon2StoredForm(stored);
    const { verify } = await import('@node-rs/argon2');
    return await verify(stored, password);
  } catch {
    return false;
  }
}
