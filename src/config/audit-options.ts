import { createPrivateKey, KeyObject } from 'node:crypto';
import { z } from 'zod';

/**
 * An Ed25519 private key for signing audit checkpoints: a `KeyObject` or a PKCS#8 PEM string,
 * parsed into a `KeyObject`. A refusal never quotes the key's text.
 */
export const Ed25519PrivateKeySchema = z
  .union([
    z.custom<KeyObject>((value) => value instanceof KeyObject, 'must be a KeyObject'),
    z.string().min(1),
  ])
  .transform((key, context) => {
    try {
      const object = typeof key === 'string' ? createPrivateKey(key) : key;
      if (object.type === 'private' && object.asymmetricKeyType === 'ed25519') return object;
    } catch {
      // reported below, without the key's text
    }
    context.addIssue({
      code: 'custom',
      message: 'must be an Ed25519 private key (KeyObject or PKCS#8 PEM)',
    });
    return z.NEVER;
  });

/**
 * Keys redacted from audit change sets and metadata by default, at any depth (case-insensitive).
 *
 * @example
 * ```ts
 * import { createCarebase, DEFAULT_REDACT_KEYS } from 'carebase';
 * // Extend the defaults rather than replace them, or passwords and tokens would reach the log.
 * const cb = createCarebase({ audit: { redactKeys: [...DEFAULT_REDACT_KEYS, 'mrn', 'dateOfBirth'] } });
 * ```
 */
export const DEFAULT_REDACT_KEYS = [
  'password',
  'passwordHash',
  'password_hash',
  'token',
  'tokenHash',
  'token_hash',
  'secret',
  'ssn',
] as const;

/**
 * Options of the audit log.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ audit: { redactKeys: ['password', 'token', 'mrn'] } });
 * ```
 */
export const AuditOptionsSchema = z
  .strictObject({
    /** Keys whose values are replaced by `[redacted]` before storage. @default password, token, secret, ssn, ... */
    redactKeys: z.array(z.string().min(1)).default([...DEFAULT_REDACT_KEYS]),
    /** Whole monthly partitions older than this are dropped by `applyRetention`. @default 84 (7 years) */
    retentionMonths: z.number().int().positive().default(84),
    /** Allows `retentionMonths` below 72 (6 years). @default false */
    allowShortRetention: z.boolean().default(false),
    /** Monthly partitions kept created ahead of the current month. @default 2 */
    partitionsAhead: z.number().int().min(1).max(24).default(2),
    /**
     * When false (the default), `cb.audit.log()` (and `recordAudit` outside a transaction)
     * resolves once its entry is committed, durably, with its hash; a background sealing pass
     * started right after the commit links it into the hash chain, typically within milliseconds.
     * When true, it resolves only once its entry is sealed: entry and link are committed in one
     * transaction (shared with the entries logged concurrently), so there is no moment at which
     * the entry is committed but not chained, at about a third less throughput with 8 writers.
     * Entries written inside a transaction are sealed after it commits, in the background;
     * `verify()` always seals first.
     * @default false
     */
    sealAfterWrite: z.boolean().default(false),
    /**
     * The Ed25519 private key `cb.audit.checkpoint()` signs chain-head statements with: a
     * `KeyObject` from `node:crypto`, or a PKCS#8 PEM string. It comes from the host (a secret
     * store, a file), never from the database; keep its public key with the verifiers.
     * @default none (checkpoint() then throws InvalidConfigurationError)
     */
    signingKey: Ed25519PrivateKeySchema.optional(),
    /**
     * Where `cb.audit.checkpoint()` writes signed checkpoints when no sink is passed: a directory
     * (ideally on other storage than the database: another host, write-once object storage).
     * @default none
     */
    checkpointDir: z.string().min(1).optional(),
    /**
     * What chat writes are audited: `conversations` (the default) audits conversation-level events
     * only (creation, including a default conversation created by an append; renames, updates,
     * status changes, archiving, retention overrides, participant changes, clears, deletions,
     * exports, retention sweeps, imports); `messages` also audits every `append` / `appendMany`
     * (one `chat.message_append` entry per conversation and call, naming the message ids, roles
     * and authors, never content), in the append's transaction.
     * @default 'conversations'
     */
    chatWrites: z.enum(['conversations', 'messages']).default('conversations'),
  })
  .refine((options) => options.allowShortRetention || options.retentionMonths >= 72, {
    path: ['retentionMonths'],
    message: 'must be at least 72 (6 years) unless allowShortRetention is set',
  })
  .prefault({});

/**
 * Audit options as a host writes them.
 *
 * @example
 * ```ts
 * import { type AuditOptions, createCarebase } from 'carebase';
 * const audit: AuditOptions = { retentionMonths: 120, partitionsAhead: 3 }; // ten years
 * const cb = createCarebase({ audit });
 * ```
 */
export interface AuditOptions {
  /** Keys whose values are replaced by `[redacted]` before storage. @default password, token, secret, ssn, ... */
  readonly redactKeys?: string[] | undefined;
  /** Whole monthly partitions older than this are dropped by `applyRetention`. @default 84 (7 years) */
  readonly retentionMonths?: number | undefined;
  /** Allows `retentionMonths` below 72 (6 years). @default false */
  readonly allowShortRetention?: boolean | undefined;
  /** Monthly partitions kept created ahead of the current month. @default 2 */
  readonly partitionsAhead?: number | undefined;
  /**
   * When false (the default), `cb.audit.log()` (and `recordAudit` outside a transaction)
   * resolves once its entry is committed, durably, with its hash; a background sealing pass
   * started right after the commit links it into the hash chain, typically within milliseconds.
   * When true, it resolves only once its entry is sealed: entry and link are committed in one
   * transaction (shared with the entries logged concurrently), so there is no moment at which
   * the entry is committed but not chained, at about a third less throughput with 8 writers.
   * Entries written inside a transaction are sealed after it commits, in the background;
   * `verify()` always seals first.
   * @default false
   */
  readonly sealAfterWrite?: boolean | undefined;
  /**
   * The Ed25519 private key `cb.audit.checkpoint()` signs chain-head statements with: a
   * `KeyObject` from `node:crypto`, or a PKCS#8 PEM string. It comes from the host (a secret
   * store, a file), never from the database; keep its public key with the verifiers.
   * @default none (checkpoint() then throws InvalidConfigurationError)
   */
  readonly signingKey?: KeyObject | string | undefined;
  /**
   * Where `cb.audit.checkpoint()` writes signed checkpoints when no sink is passed: a directory
   * (ideally on other storage than the database: another host, write-once object storage).
   * @default none
   */
  readonly checkpointDir?: string | undefined;
  /**
   * What chat writes are audited: `conversations` (the default) audits conversation-level events
   * only (creation, including a default conversation created by an append; renames, updates,
   * status changes, archiving, retention overrides, participant changes, clears, deletions,
   * exports, retention sweeps, imports); `messages` also audits every `append` / `appendMany`
   * (one `chat.message_append` entry per conversation and call, naming the message ids, roles
   * and authors, never content), in the append's transaction.
   * @default 'conversations'
   */
  readonly chatWrites?: 'conversations' | 'messages' | undefined;
}
/**
 * Audit options with defaults applied.
 *
 * @example
 * ```ts
 * import type { ResolvedAuditOptions } from 'carebase';
 * const audit: ResolvedAuditOptions = cb.config.audit;
 * console.log(
 *   `audit entries are kept ${audit.retentionMonths} months; redacted: ${audit.redactKeys.join(', ')}`,
 * );
 * ```
 */
export interface ResolvedAuditOptions {
  /** Keys whose values are replaced by `[redacted]` before storage. @default password, token, secret, ssn, ... */
  readonly redactKeys: string[];
  /** Whole monthly partitions older than this are dropped by `applyRetention`. @default 84 (7 years) */
  readonly retentionMonths: number;
  /** Allows `retentionMonths` below 72 (6 years). @default false */
  readonly allowShortRetention: boolean;
  /** Monthly partitions kept created ahead of the current month. @default 2 */
  readonly partitionsAhead: number;
  /**
   * When false (the default), `cb.audit.log()` (and `recordAudit` outside a transaction)
   * resolves once its entry is committed, durably, with its hash; a background sealing pass
   * started right after the commit links it into the hash chain, typically within milliseconds.
   * When true, it resolves only once its entry is sealed: entry and link are committed in one
   * transaction (shared with the entries logged concurrently), so there is no moment at which
   * the entry is committed but not chained, at about a third less throughput with 8 writers.
   * Entries written inside a transaction are sealed after it commits, in the background;
   * `verify()` always seals first.
   * @default false
   */
  readonly sealAfterWrite: boolean;
  /** The Ed25519 private key checkpoints are signed with, parsed. @default none */
  readonly signingKey?: KeyObject | undefined;
  /** Where checkpoints are written when no sink is passed. @default none */
  readonly checkpointDir?: string | undefined;
  /** What chat writes are audited (see `AuditOptions.chatWrites`). @default 'conversations' */
  readonly chatWrites: 'conversations' | 'messages';
}
