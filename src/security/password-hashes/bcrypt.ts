import bcrypt from 'bcrypt';

/** bcrypt reads at most this many bytes of a password (the rest is silently ignored). */
export const BCRYPT_MAX_BYTES = 72;

/** Plain bcrypt hashes (`$2a$`, `$2b$`, `$2y$`): what carebase stored before its pre-hash format. */
export const BCRYPT_PATTERN = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * Verifies `password` against a plain bcrypt hash, as carebase did before `$cb-bcrypt-sha256$`:
 * the password exactly as given (no normalisation, since the hash was made from it that way),
 * refused beyond 72 UTF-8 bytes (bcrypt would compare a prefix only). Never throws: a malformed
 * hash is `false`.
 */
export async function verifyBcrypt(password: string, hash: string): Promise<boolean> {
  if (Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_BYTES || password.includes('\u0000')) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

/** The cost of a bcrypt hash, or `undefined` when it is not one. */
export function bcryptRounds(hash: string): number | undefined {
  try {
    return bcrypt.getRounds(hash);
  } catch {
    return undefined;
  }
}
