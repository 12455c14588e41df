import { createHash, randomBytes, randomInt } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import type { ResolvedUsersOptions } from '../../config/users-options.js';
import { InvalidConfigurationError } from '../../errors/errors.js';
import { type BoxKeyring, keyringOf } from '../../security/secret-box.js';

/** RFC 6238 parameters every authenticator app supports. */
const PERIOD = 30;
const DIGITS = 6;

/** The keyring of `users.mfa.encryptionKey`, or a clear error when the host gave none. */
export function mfaKeyring(options: ResolvedUsersOptions): BoxKeyring {
  const configured = options.mfa.encryptionKey;
  if (configured === undefined) {
    throw new InvalidConfigurationError(
      'users.mfa.encryptionKey',
      'is required to store TOTP secrets (32 random bytes, e.g. from a secrets manager)',
    );
  }
  const toKey = (secret: { reveal(): string }) => Buffer.from(secret.reveal(), 'base64');
  return 'current' in configured
    ? keyringOf(toKey(configured.current), configured.previous.map(toKey))
    : keyringOf(toKey(configured));
}

/** A new random TOTP secret (160 bits, RFC 4226's recommendation). */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

/** The `otpauth://` URI and base32 secret of an enrolment, for a QR code. */
export function totpUri(secret: Buffer, issuer: string, label: string): { uri: string; base32: string } {
  const totp = new OTPAuth.TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    secret: new OTPAuth.Secret({ buffer: Uint8Array.from(secret).buffer }),
  });
  return { uri: totp.toString(), base32: totp.secret.base32 };
}

/**
 * The TOTP time step `code` is valid for at `nowMs` (within `window` steps), or `undefined`. The
 * caller accepts it only for a step later than the last one accepted (no replay).
 */
export function totpStep(secret: Buffer, code: string, nowMs: number, window: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = OTPAuth.TOTP.validate({
    token: code,
    secret: new OTPAuth.Secret({ buffer: Uint8Array.from(secret).buffer }),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    timestamp: nowMs,
    window,
  });
  if (delta === null) return undefined;
  return Math.floor(nowMs / 1000 / PERIOD) + delta;
}

const BACKUP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/**
 * Ten new backup codes: 24 characters from a 31-letter alphabet (118 bits, so ASVS 5.0 6.5.2
 * allows a plain SHA-256 digest), shown in groups of four.
 */
export function newBackupCodes(): string[] {
  return Array.from({ length: 10 }, () => {
    const chars = Array.from({ length: 24 }, () => BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)]).join(
      '',
    );
    return chars.replace(/(.{4})(?=.)/g, '$1-');
  });
}

/** A backup code as typed (any case, with or without dashes or spaces), or `undefined` when it cannot be one. */
export function normaliseBackupCode(code: string): string | undefined {
  const compact = code.toLowerCase().replace(/[\s-]/g, '');
  return /^[a-z0-9]{24}$/.test(compact) ? compact : undefined;
}

/** The stored digest of a backup code: SHA-256 of the account id and the code (salted per account). */
export function backupCodeHash(userId: string, code: string): Buffer {
  return createHash('sha256').update(`${userId}:${code}`, 'utf8').digest();
}
