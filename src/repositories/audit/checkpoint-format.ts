import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';

/** The statement format this version of carebase writes and reads. */
export const CHECKPOINT_FORMAT = 'carebase.audit.checkpoint.v1';

/**
 * One month's chain head as a checkpoint records it.
 *
 * @example
 * ```ts
 * import type { AuditCheckpointMonth } from 'carebase';
 * const month: AuditCheckpointMonth = {
 *   month: '2026-07',
 *   count: 1200,
 *   lastId: '1200',
 *   lastOccurredAt: '2026-07-31T23:59:59.123456Z',
 *   headHash: 'ab'.repeat(32),
 *   retired: false,
 * };
 * ```
 */
export interface AuditCheckpointMonth {
  /** `YYYY-MM` (UTC). */
  readonly month: string;
  /** How many entries the month's chain held (its last link's sequence number). */
  readonly count: number;
  /** The id of the month's newest sealed entry. */
  readonly lastId: string;
  /** That entry's `occurred_at`, to the microsecond (UTC). */
  readonly lastOccurredAt: string;
  /** The chain hash of that entry's link, hex. */
  readonly headHash: string;
  /** Whether retention had dropped the month's partition. */
  readonly retired: boolean;
}

/**
 * What a checkpoint states: the chain heads of every month, this installation's id and the
 * random genesis its chains start from, and when it was made.
 *
 * @example
 * ```ts
 * import { readCheckpointStatement } from 'carebase';
 * const { checkpoint } = await cb.audit.checkpoint();
 * const statement = readCheckpointStatement(checkpoint);
 * console.log(statement.createdAt, statement.months.length);
 * ```
 */
export interface AuditCheckpointStatement {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly installationId: string;
  /** The installation's genesis (hex): every month chain started since migration 0023 is anchored on it. */
  readonly genesis: string;
  /** The carebase schema. */
  readonly schema: string;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly months: readonly AuditCheckpointMonth[];
}

/**
 * A signed checkpoint, as sinks store it: `payload` is the statement's JSON text, exactly the
 * bytes (UTF-8) the Ed25519 `signature` covers; `keyId` is the SHA-256 (hex) of the signing
 * key's public key (SPKI DER).
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import type { SignedAuditCheckpoint } from 'carebase';
 * const { checkpoint }: { checkpoint: SignedAuditCheckpoint } = await cb.audit.checkpoint();
 * await writeFile(`checkpoint-${Date.now()}.json`, JSON.stringify(checkpoint));
 * ```
 */
export interface SignedAuditCheckpoint {
  readonly algorithm: 'Ed25519';
  readonly keyId: string;
  readonly payload: string;
  readonly signature: string;
}

/**
 * The shape of a {@link SignedAuditCheckpoint} (for checkpoints read back from storage).
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { SignedAuditCheckpointSchema } from 'carebase/schemas';
 * const checkpoint = SignedAuditCheckpointSchema.parse(JSON.parse(await readFile('checkpoint.json', 'utf8')));
 * ```
 */
export const SignedAuditCheckpointSchema = z.strictObject({
  algorithm: z.literal('Ed25519'),
  keyId: z.string().regex(/^[0-9a-f]{64}$/),
  payload: z
    .string()
    .min(2)
    .max(64 * 1024 * 1024),
  signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
});

const HEX = /^[0-9a-f]+$/;
const StatementSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  installationId: z.uuid(),
  genesis: z.string().regex(HEX),
  schema: z.string(),
  createdAt: z.iso.datetime(),
  months: z.array(
    z.strictObject({
      month: z.string().regex(/^\d{4}-\d{2}$/),
      count: z.number().int().positive(),
      lastId: z.string().regex(/^\d+$/),
      lastOccurredAt: z.iso.datetime({ precision: 6 }),
      headHash: z.string().regex(/^[0-9a-f]{64}$/),
      retired: z.boolean(),
    }),
  ),
});

/** The key id of a public key: SHA-256 (hex) of its SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** A public key from a KeyObject (public or private) or a PEM string. */
export function toPublicKey(key: KeyObject | string): KeyObject {
  return key instanceof KeyObject && key.type === 'public' ? key : createPublicKey(key);
}

/** Signs `statement` with an Ed25519 private key. */
export function signCheckpoint(
  statement: AuditCheckpointStatement,
  privateKey: KeyObject,
): SignedAuditCheckpoint {
  const payload = JSON.stringify(statement);
  return {
    algorithm: 'Ed25519',
    keyId: keyIdOf(createPublicKey(privateKey)),
    payload,
    signature: sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64'),
  };
}

/**
 * Checks a checkpoint's signature against `publicKeys` (by key id) and returns its statement, or
 * undefined when no key matches, the signature is wrong or the statement is malformed.
 */
export function openCheckpoint(
  checkpoint: SignedAuditCheckpoint,
  publicKeys: readonly KeyObject[],
): AuditCheckpointStatement | undefined {
  const key = publicKeys.find((candidate) => keyIdOf(candidate) === checkpoint.keyId);
  if (key === undefined) return undefined;
  const payload = Buffer.from(checkpoint.payload, 'utf8');
  if (!verify(null, payload, key, Buffer.from(checkpoint.signature, 'base64'))) return undefined;
  return parseStatement(checkpoint.payload);
}

function parseStatement(payload: string): AuditCheckpointStatement | undefined {
  try {
    const parsed = StatementSchema.safeParse(JSON.parse(payload));
    return parsed.success ? (parsed.data as AuditCheckpointStatement) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The statement of a checkpoint, without checking its signature (for display; `verify()` checks
 * signatures). Throws `TypeError` when the payload is not a checkpoint statement.
 *
 * @example
 * ```ts
 * import { readCheckpointStatement } from 'carebase';
 * const { checkpoint } = await cb.audit.checkpoint();
 * console.log(readCheckpointStatement(checkpoint).installationId);
 * ```
 */
export function readCheckpointStatement(checkpoint: SignedAuditCheckpoint): AuditCheckpointStatement {
  const statement = parseStatement(checkpoint.payload);
  if (statement === undefined) throw new TypeError('not a carebase audit checkpoint statement');
  return statement;
}
