import { z } from 'zod';

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
}
