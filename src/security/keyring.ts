import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { InvalidConfigurationError } from '../errors/errors.js';

/**
 * What carebase asks of a key-encryption-key (KEK) provider: wrap and unwrap a 32-byte data key
 * under a KEK named by id. The built-in {@link localKeyring} keeps KEKs in memory; a KMS adapter
 * (AWS KMS `Encrypt`/`Decrypt` with an encryption context, GCP KMS with additional authenticated
 * data, Vault transit with `context`) implements the same three members. carebase never stores a
 * KEK, only its id and the wrapped data keys.
 *
 * Contract (MUST): `unwrapKey(wrapKey(k))` returns `k` for the same `keyId` and `context`, and
 * fails (throws) for any other `context` or an altered `wrapped`: `context` is the data key's
 * owner (`carebase.dek.v1:<userId>:<version>`), so a wrapped key moved to another user does not
 * unwrap. Both may be called concurrently. Errors are rethrown as `DecryptionError` (unwrap) or
 * kept as `cause`; they MUST NOT contain key material.
 *
 * @example
 * ```ts
 * import { createCarebase, type Keyring } from 'carebase';
 * declare const kms: {
 *   encrypt(keyId: string, plaintext: Uint8Array, aad: string): Promise<Uint8Array>;
 *   decrypt(keyId: string, ciphertext: Uint8Array, aad: string): Promise<Uint8Array>;
 * };
 * const kmsKeyring: Keyring = {
 *   currentKeyId: 'projects/p/locations/l/keyRings/r/cryptoKeys/carebase',
 *   wrapKey: ({ keyId, dataKey, context }) => kms.encrypt(keyId, dataKey, context),
 *   unwrapKey: ({ keyId, wrapped, context }) => kms.decrypt(keyId, wrapped, context),
 * };
 * const cb = createCarebase({ connectionString: process.env.DATABASE_URL, encryption: { keyring: kmsKeyring } });
 * ```
 */
export interface Keyring {
  /** The id of the KEK that new data keys are wrapped with (1 to 200 characters). */
  readonly currentKeyId: string;
  /** Encrypts `dataKey` under the KEK `keyId`, bound to `context`. */
  wrapKey(input: KeyWrapInput): Promise<Uint8Array> | Uint8Array;
  /** Decrypts `wrapped` (from {@link Keyring.wrapKey}) under the KEK `keyId`; throws when it cannot. */
  unwrapKey(input: KeyUnwrapInput): Promise<Uint8Array> | Uint8Array;
}

/**
 * Input of {@link Keyring.wrapKey}.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { type KeyWrapInput, localKeyring } from 'carebase';
 * const keyring = localKeyring({ keys: { k1: randomBytes(32) }, current: 'k1' });
 * const input: KeyWrapInput = { keyId: 'k1', dataKey: randomBytes(32), context: 'carebase.dek.v1:example:1' };
 * const wrapped = await keyring.wrapKey(input);
 * ```
 */
export interface KeyWrapInput {
  readonly keyId: string;
  readonly dataKey: Uint8Array;
  /** Associated data the wrap is bound to: unwrapping with another context MUST fail. */
  readonly context: string;
}

/**
 * Input of {@link Keyring.unwrapKey}.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { type KeyUnwrapInput, localKeyring } from 'carebase';
 * const keyring = localKeyring({ keys: { k1: randomBytes(32) }, current: 'k1' });
 * const context = 'carebase.dek.v1:example:1';
 * const wrapped = await keyring.wrapKey({ keyId: 'k1', dataKey: randomBytes(32), context });
 * const input: KeyUnwrapInput = { keyId: 'k1', wrapped, context };
 * const dataKey = await keyring.unwrapKey(input);
 * ```
 */
export interface KeyUnwrapInput {
  readonly keyId: string;
  readonly wrapped: Uint8Array;
  readonly context: string;
}

/**
 * Options of {@link localKeyring}: KEKs by id (32 bytes each, as bytes or base64) and the id of
 * the current one.
 *
 * @example
 * ```ts
 * import { type LocalKeyringOptions, localKeyring } from 'carebase';
 * const options: LocalKeyringOptions = {
 *   keys: { '2026-01': process.env.KEK_2026_01 ?? '', '2025-01': process.env.KEK_2025_01 ?? '' },
 *   current: '2026-01',
 * };
 * const keyring = localKeyring(options);
 * ```
 */
export interface LocalKeyringOptions {
  readonly keys: Readonly<Record<string, string | Uint8Array>>;
  /** @default the first id of `keys` */
  readonly current?: string | undefined;
}

const KEY_ID = /^[A-Za-z0-9._:/-]{1,200}$/;

/** Marks a thrown unwrap failure of the local keyring: the KEK id is not in the keyring. */
export class UnknownKeyError extends Error {
  constructor() {
    super('unknown key-encryption key');
  }
}

/** Marks a thrown unwrap failure of the local keyring: the wrapped key was altered or is not bound to the context. */
export class InvalidWrappedKeyError extends Error {
  constructor() {
    super('wrapped key failed authentication');
  }
}

/**
 * The built-in keyring: KEKs held in memory (from the environment or files, see
 * {@link localKeyringFromEnv}), wrapping with AES-256-GCM (`iv (12) || ciphertext || tag (16)`,
 * the context as associated data). Key bytes live in a `#private` field: `inspect`,
 * `JSON.stringify` and logs show the ids only.
 */
class LocalKeyring implements Keyring {
  readonly currentKeyId: string;
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(keys: ReadonlyMap<string, Buffer>, current: string) {
    this.#keys = keys;
    this.currentKeyId = current;
  }

  /** The ids of the KEKs held (never the keys). */
  get keyIds(): readonly string[] {
    return [...this.#keys.keys()];
  }

  wrapKey({ keyId, dataKey, context }: KeyWrapInput): Uint8Array {
    const kek = this.#keys.get(keyId);
    if (kek === undefined) throw new UnknownKeyError();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', kek, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }

  unwrapKey({ keyId, wrapped, context }: KeyUnwrapInput): Uint8Array {
    const kek = this.#keys.get(keyId);
    if (kek === undefined) throw new UnknownKeyError();
    const bytes = Buffer.from(wrapped);
    if (bytes.length < 12 + 16 + 1) throw new InvalidWrappedKeyError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
    } catch {
      throw new InvalidWrappedKeyError();
    }
  }

  toJSON(): { keyIds: readonly string[]; currentKeyId: string } {
    return { keyIds: this.keyIds, currentKeyId: this.currentKeyId };
  }

  [inspect.custom](): string {
    return `LocalKeyring(current: ${this.currentKeyId}, keys: ${this.keyIds.join(', ')})`;
  }
}

function keyBytes(id: string, value: string | Uint8Array, field: string): Buffer {
  const bytes =
    typeof value === 'string'
      ? /^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())
        ? Buffer.from(value.trim(), 'base64')
        : Buffer.alloc(0)
      : Buffer.from(value);
  if (bytes.length !== 32) {
    throw new InvalidConfigurationError(`${field}.${id}`, 'must be 32 bytes (base64 or bytes)');
  }
  return bytes;
}

/**
 * A keyring of local KEKs (32 random bytes each, e.g. `openssl rand -base64 32`). Keep every KEK
 * that ever wrapped a data key until `cb.encryption.rewrapKeys()`-style rotation has moved all data
 * keys off it. Throws `InvalidConfigurationError` (naming the key id, never its value) for a key
 * that is not 32 bytes, an id outside `[A-Za-z0-9._:/-]{1,200}`, or an unknown `current`.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { createCarebase, localKeyring } from 'carebase';
 * const keyring = localKeyring({ keys: { k1: randomBytes(32).toString('base64') }, current: 'k1' });
 * const cb = createCarebase({ connectionString: process.env.DATABASE_URL, encryption: { keyring } });
 * ```
 */
export function localKeyring(options: LocalKeyringOptions, field = 'encryption.keyring'): Keyring {
  const entries = Object.entries(options.keys);
  if (entries.length === 0)
    throw new InvalidConfigurationError(`${field}.keys`, 'must hold at least one key');
  const keys = new Map<string, Buffer>();
  for (const [id, value] of entries) {
    if (!KEY_ID.test(id)) {
      throw new InvalidConfigurationError(`${field}.keys`, 'key ids must match [A-Za-z0-9._:/-]{1,200}');
    }
    keys.set(id, keyBytes(id, value, `${field}.keys`));
  }
  const current = options.current ?? (entries[0] as [string, unknown])[0];
  if (!keys.has(current)) throw new InvalidConfigurationError(`${field}.current`, 'is not one of the keys');
  return new LocalKeyring(keys, current);
}

/**
 * A {@link localKeyring} from the environment: `CAREBASE_ENCRYPTION_KEYS` (`id:base64,id:base64`)
 * or `CAREBASE_ENCRYPTION_KEYS_FILE` (a JSON file `{ "current": "id", "keys": { "id": "base64" } }`,
 * e.g. a mounted secret), and `CAREBASE_ENCRYPTION_CURRENT_KEY` (default: the first key).
 * Throws `InvalidConfigurationError` naming the variable when none is set or one is malformed.
 *
 * @example
 * ```ts
 * import { configFromEnv, createCarebase, localKeyringFromEnv } from 'carebase';
 * // CAREBASE_ENCRYPTION_KEYS="2026-01:<base64>,2025-01:<base64>" CAREBASE_ENCRYPTION_CURRENT_KEY=2026-01
 * const cb = createCarebase({ ...configFromEnv(), encryption: { keyring: localKeyringFromEnv() } });
 * ```
 */
export function localKeyringFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Keyring {
  const current = env.CAREBASE_ENCRYPTION_CURRENT_KEY?.trim() || undefined;
  const inline = env.CAREBASE_ENCRYPTION_KEYS?.trim();
  if (inline) {
    const keys: Record<string, string> = {};
    for (const part of inline.split(',')) {
      // Base64 has no ':', so the last one splits (ids may contain ':').
      const split = part.lastIndexOf(':');
      if (split <= 0) {
        throw new InvalidConfigurationError('CAREBASE_ENCRYPTION_KEYS', 'must be id:base64[,id:base64...]');
      }
      keys[part.slice(0, split).trim()] = part.slice(split + 1).trim();
    }
    return localKeyring({ keys, current }, 'CAREBASE_ENCRYPTION_KEYS');
  }
  const file = env.CAREBASE_ENCRYPTION_KEYS_FILE?.trim();
  if (file) {
    let parsed: { current?: unknown; keys?: unknown };
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as { current?: unknown; keys?: unknown };
    } catch {
      throw new InvalidConfigurationError('CAREBASE_ENCRYPTION_KEYS_FILE', 'must name a readable JSON file');
    }
    if (typeof parsed.keys !== 'object' || parsed.keys === null) {
      throw new InvalidConfigurationError(
        'CAREBASE_ENCRYPTION_KEYS_FILE',
        'must hold { "keys": { "id": "base64" } }',
      );
    }
    const fileCurrent = typeof parsed.current === 'string' ? parsed.current : undefined;
    return localKeyring(
      { keys: parsed.keys as Record<string, string>, current: current ?? fileCurrent },
      'CAREBASE_ENCRYPTION_KEYS_FILE',
    );
  }
  throw new InvalidConfigurationError(
    'CAREBASE_ENCRYPTION_KEYS',
    'is not set (nor CAREBASE_ENCRYPTION_KEYS_FILE)',
  );
}
