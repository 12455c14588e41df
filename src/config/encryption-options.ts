import { z } from 'zod';
import type { Keyring } from '../security/keyring.js';
import { Secret } from './secret.js';

const keyringSchema = z.custom<Keyring>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Keyring).currentKeyId === 'string' &&
    /^[A-Za-z0-9._:/-]{1,200}$/.test((value as Keyring).currentKeyId) &&
    typeof (value as Keyring).wrapKey === 'function' &&
    typeof (value as Keyring).unwrapKey === 'function',
  'must be a Keyring (currentKeyId, wrapKey, unwrapKey)',
);

/**
 * `encryption` option of `createCarebase()`: envelope encryption of chat content (docs/encryption.md).
 *
 * @example
 * ```ts
 * import { localKeyringFromEnv } from 'carebase';
 * import { EncryptionOptionsSchema } from 'carebase/schemas';
 * const encryption = EncryptionOptionsSchema.parse({ keyring: localKeyringFromEnv(), plaintextReads: 'refuse' });
 * ```
 */
export const EncryptionOptionsSchema = z.strictObject({
  /** Where the key-encryption keys are: `localKeyring()`, or a KMS adapter. */
  keyring: keyringSchema,
  /**
   * What a read does with a row that is not encrypted: `'allow'` returns it (needed while
   * `cb.encryption.encryptExisting()` has not finished), `'refuse'` throws `DecryptionError`
   * (`malformed`), so plaintext written behind carebase's back is never served as if it were sealed.
   * @default 'allow'
   */
  plaintextReads: z.enum(['allow', 'refuse']).default('allow'),
  /** How many users' unwrapped data keys are kept in memory (least recently used evicted). @default 10000 */
  keyCacheSize: z.number().int().min(1).max(1_000_000).default(10_000),
});

/**
 * `encryption` option, as a host writes it; see {@link EncryptionOptionsSchema}.
 *
 * @example
 * ```ts
 * import { createCarebase, type EncryptionOptions, localKeyringFromEnv } from 'carebase';
 * const encryption: EncryptionOptions = { keyring: localKeyringFromEnv() };
 * const cb = createCarebase({ connectionString: process.env.DATABASE_URL, encryption });
 * ```
 */
export interface EncryptionOptions {
  /** Where the key-encryption keys are. */
  readonly keyring: Keyring;
  /** @default 'allow' */
  readonly plaintextReads?: 'allow' | 'refuse' | undefined;
  /** @default 10000 */
  readonly keyCacheSize?: number | undefined;
}

/**
 * The resolved `encryption` option.
 *
 * @example
 * ```ts
 * import type { ResolvedEncryptionOptions } from 'carebase';
 * const encryption: ResolvedEncryptionOptions | undefined = cb.config.encryption;
 * console.log(encryption === undefined ? 'chat stored in clear' : `KEK ${encryption.keyring.currentKeyId}`);
 * ```
 */
export interface ResolvedEncryptionOptions {
  readonly keyring: Keyring;
  readonly plaintextReads: 'allow' | 'refuse';
  readonly keyCacheSize: number;
}

const pseudonymKey = z
  .union([z.instanceof(Uint8Array), z.instanceof(Secret), z.string()])
  .transform((value) =>
    value instanceof Uint8Array
      ? Buffer.from(value)
      : Buffer.from((value instanceof Secret ? value.reveal() : value).trim(), 'base64'),
  )
  .refine((key) => key.length >= 32 && key.length <= 128, 'must be 32 to 128 bytes (base64 or bytes)')
  .transform((key) => new Secret(key.toString('base64')));

/**
 * `pseudonyms` option of `createCarebase()`: the key of `cb.pseudonym()`.
 *
 * @example
 * ```ts
 * import { PseudonymOptionsSchema } from 'carebase/schemas';
 * const pseudonyms = PseudonymOptionsSchema.parse({ key: process.env.CAREBASE_PSEUDONYM_KEY });
 * ```
 */
export const PseudonymOptionsSchema = z.strictObject({
  /**
   * The HMAC key: 32 to 128 random bytes, as bytes, base64 or a `Secret`. Never logged. Changing
   * it changes every pseudonym. (env `CAREBASE_PSEUDONYM_KEY`, read by `configFromEnv()`)
   */
  key: pseudonymKey,
});

/**
 * `pseudonyms` option, as a host writes it; see {@link PseudonymOptionsSchema}.
 *
 * @example
 * ```ts
 * import { createCarebase, type PseudonymOptions, Secret } from 'carebase';
 * const pseudonyms: PseudonymOptions = { key: new Secret(process.env.CAREBASE_PSEUDONYM_KEY ?? '') };
 * const cb = createCarebase({ connectionString: process.env.DATABASE_URL, pseudonyms });
 * ```
 */
export interface PseudonymOptions {
  /** 32 to 128 random bytes, as bytes, base64 or a `Secret` (env `CAREBASE_PSEUDONYM_KEY`). */
  readonly key: Uint8Array<ArrayBuffer> | string | Secret;
}

/**
 * The resolved `pseudonyms` option: the key, base64 in a `Secret`.
 *
 * @example
 * ```ts
 * import type { ResolvedPseudonymOptions } from 'carebase';
 * const configured: boolean = (cb.config.pseudonyms as ResolvedPseudonymOptions | undefined) !== undefined;
 * ```
 */
export interface ResolvedPseudonymOptions {
  /** The key's bytes as base64, never printed. */
  readonly key: Secret;
}
