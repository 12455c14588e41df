import { isIP } from 'node:net';
import { CompiledQuery } from 'kysely';
import { z } from 'zod';
import { ValidationError } from '../../errors/errors.js';
import { jsonObjectSchema } from '../../validation/json.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import { type AuditInsertValues, auditBatchInsertOf, singleInsertSql } from './batch-insert.js';
import { ensureAuditPartition } from './partitions.js';
import { AUDIT_ACTION_PATTERN, quickAuditEntry } from './quick-entry.js';
import { redactJson } from './redact.js';
import { auditSealerOf } from './sealer.js';

/**
 * The severities of audit entries, least to most serious.
 *
 * @example
 * ```ts
 * import { AuditSeveritySchema } from 'carebase/schemas';
 * const serious = AuditSeveritySchema.options.slice(AuditSeveritySchema.options.indexOf('high')); // ['high', 'critical']
 * ```
 */
export const AuditSeveritySchema = z.enum(['info', 'notice', 'warning', 'high', 'critical']);

/**
 * How serious an audit event is, from routine (`info`) to `critical`; validated by
 * `AuditSeveritySchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditSeverity } from 'carebase';
 * const severity: AuditSeverity = 'high';
 * ```
 */
export type AuditSeverity = 'info' | 'notice' | 'warning' | 'high' | 'critical';

/**
 * HL7 v3 PurposeOfUse codes commonly used in audit events (suggestions: `purposeOfUse` takes any
 * text).
 *
 * @example
 * ```ts
 * import { PURPOSE_OF_USE_CODES } from 'carebase';
 * console.log(PURPOSE_OF_USE_CODES.ETREAT); // 'emergency treatment'
 * ```
 */
export const PURPOSE_OF_USE_CODES = Object.freeze({
  TREAT: 'treatment',
  ETREAT: 'emergency treatment',
  HPAYMT: 'healthcare payment',
  HOPERAT: 'healthcare operations',
  PUBHLTH: 'public health',
  HRESCH: 'healthcare research',
  PATRQT: 'patient requested',
  FAMRQT: 'family requested',
  PWATRNY: 'power of attorney',
  LEGAL: 'legal',
  COVERAGE: 'coverage under policy or program',
  HSYSADMIN: 'health system administration',
} as const);

/**
 * One audit entry as repositories and hosts write it: who (actor), what (action on a resource),
 * about whom (subject), when, where (IP, user agent, request id) and with what outcome, plus a
 * JSON change set. Fields left out are taken from the scope's actor (`cb.withActor`).
 *
 * @example
 * ```ts
 * import { AuditEntryInputSchema } from 'carebase/schemas';
 * const entry = AuditEntryInputSchema.parse({ action: 'chart.view', resourceType: 'chart', resourceId: '42' });
 * ```
 */
export const AuditEntryInputSchema = z.strictObject({
  /** A short dotted verb, e.g. `user.login`, `chat.export`. */
  action: z.string().max(100).regex(AUDIT_ACTION_PATTERN, 'must be a dotted lower-case verb like user.login'),
  /** The kind of record acted on, e.g. `user`, `conversation`. */
  resourceType: z.string().min(1).max(100),
  /** The record's id. */
  resourceId: z.string().min(1).max(200).optional(),
  /** The person the record is about (e.g. a patient id), when different from the resource. */
  subjectId: z.string().min(1).max(200).optional(),
  /** @default 'success' */
  outcome: z.enum(['success', 'failure']).optional(),
  /** Why it failed, in words without values (e.g. `invalid_credentials`). */
  outcomeDetail: z.string().max(1000).optional(),
  /** The acting user; `null` for the system. @default the scope's actor */
  userId: z.uuid().nullable().optional(),
  /** @default `user` when a user id is known, else `system` */
  actorType: z.enum(['user', 'system', 'service']).optional(),
  /** @default the scope's actor IP */
  ip: z
    .string()
    .refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 address')
    .optional(),
  /** @default the scope's actor user agent */
  userAgent: z.string().max(512).optional(),
  /** @default the scope's actor request id */
  requestId: z.string().min(1).max(128).optional(),
  /** What changed, as JSON; keys configured in `audit.redactKeys` are redacted at any depth. */
  changes: jsonObjectSchema().optional(),
  /** Free-form JSON context; redacted like `changes`. */
  metadata: jsonObjectSchema().optional(),
  /** How serious the event is. @default 'info' ('high' at least in a break-glass scope) */
  severity: AuditSeveritySchema.optional(),
  /**
   * Why the record was accessed or disclosed: an HL7 v3 PurposeOfUse code (`TREAT`, `ETREAT`,
   * `HPAYMT`, `HOPERAT`, `PUBHLTH`, `HRESCH`, `PATRQT`, `LEGAL`, ...; see `PURPOSE_OF_USE_CODES`)
   * or free text.
   */
  purposeOfUse: z.string().min(1).max(200).optional(),
  /** The legal basis of the processing or disclosure (e.g. `HIPAA 164.506`, `GDPR 9(2)(h)`). */
  legalBasis: z.string().min(1).max(500).optional(),
  /** Who received a disclosure (a person or an organization). */
  recipient: z.string().min(1).max(500).optional(),
  /** What was disclosed or done, in words (the description of a HIPAA 164.528 accounting). */
  description: z.string().min(1).max(2000).optional(),
  /** Emergency (break-glass) access, with its reason. @default the scope's actor's `breakGlass` */
  breakGlass: z.strictObject({ reason: z.string().min(1).max(1000) }).optional(),
  /**
   * When it happened: within the retention period and at most one day ahead of the clock.
   * @default now (the configured clock)
   */
  occurredAt: z.date().optional(),
});

/** An audit entry as `AuditEntryInputSchema` returns it. */
export type AuditEntryParsed = z.output<typeof AuditEntryInputSchema>;

/**
 * An audit entry as a host writes it (`cb.audit.log`). Actor fields default to the scope's actor (`cb.withActor`). Validated by `AuditEntryInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditEntryInput } from 'carebase';
 * const entry: AuditEntryInput = { action: 'chart.view', resourceType: 'chart', resourceId, outcome: 'success' };
 * await cb.withActor({ userId, ip }).audit.log(entry);
 * ```
 */
export interface AuditEntryInput {
  /** A short dotted verb, e.g. `user.login`, `chat.export`. */
  readonly action: string;
  /** The kind of record acted on, e.g. `user`, `conversation`. */
  readonly resourceType: string;
  /** The record's id. */
  readonly resourceId?: string | undefined;
  /** The person the record is about (e.g. a patient id), when different from the resource. */
  readonly subjectId?: string | undefined;
  /** @default 'success' */
  readonly outcome?: 'success' | 'failure' | undefined;
  /** Why it failed, in words without values (e.g. `invalid_credentials`). */
  readonly outcomeDetail?: string | undefined;
  /** The acting user; `null` for the system. @default the scope's actor */
  readonly userId?: string | null | undefined;
  /** @default `user` when a user id is known, else `system` */
  readonly actorType?: 'user' | 'system' | 'service' | undefined;
  /** @default the scope's actor IP */
  readonly ip?: string | undefined;
  /** @default the scope's actor user agent */
  readonly userAgent?: string | undefined;
  /** @default the scope's actor request id */
  readonly requestId?: string | undefined;
  /** What changed, as JSON; keys configured in `audit.redactKeys` are redacted at any depth. */
  readonly changes?: Record<string, unknown> | undefined;
  /** Free-form JSON context; redacted like `changes`. */
  readonly metadata?: Record<string, unknown> | undefined;
  /** How serious the event is. @default 'info' ('high' at least in a break-glass scope) */
  readonly severity?: AuditSeverity | undefined;
  /**
   * Why the record was accessed or disclosed: an HL7 v3 PurposeOfUse code (see
   * `PURPOSE_OF_USE_CODES`) or free text.
   */
  readonly purposeOfUse?: string | undefined;
  /** The legal basis of the processing or disclosure (e.g. `HIPAA 164.506`, `GDPR 9(2)(h)`). */
  readonly legalBasis?: string | undefined;
  /** Who received a disclosure (a person or an organization). */
  readonly recipient?: string | undefined;
  /** What was disclosed or done, in words (the description of a HIPAA 164.528 accounting). */
  readonly description?: string | undefined;
  /** Emergency (break-glass) access, with its reason. @default the scope's actor's `breakGlass` */
  readonly breakGlass?: { readonly reason: string } | undefined;
  /**
   * When it happened: within the retention period and at most one day ahead of the clock.
   * @default now (the configured clock)
   */
  readonly occurredAt?: Date | undefined;
}

/**
 * What `cb.audit.log()` resolves to: the new entry's id (bigint, as a decimal string) and its time.
 *
 * @example
 * ```ts
 * import type { AuditLogResult } from 'carebase';
 * const { id, occurredAt }: AuditLogResult = await cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
 * ```
 */
export interface AuditLogResult {
  readonly id: string;
  readonly occurredAt: Date;
}

const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;
const SEVERITY_RANK: Record<AuditSeverity, number> = { info: 0, notice: 1, warning: 2, high: 3, critical: 4 };
/** The single-entry insert used inside a caller's transaction, prepared once per instance. */
function insertQuery(ctx: RepositoryContext, values: AuditInsertValues): CompiledQuery {
  return CompiledQuery.raw(singleInsertSql(ctx.runtime), [...values]);
}

function checkOccurredAt(ctx: RepositoryContext, at: Date): void {
  const now = ctx.now();
  const oldest = new Date(now);
  oldest.setUTCMonth(oldest.getUTCMonth() - ctx.config.audit.retentionMonths);
  const tooOld = at.getTime() < oldest.getTime();
  if (tooOld || at.getTime() > now.getTime() + MAX_FUTURE_MS) {
    const message = tooOld
      ? 'must be within the audit retention period'
      : 'must not be more than a day ahead';
    throw new ValidationError(`invalid audit entry at occurredAt: ${message}`, [
      { path: ['occurredAt'], message, code: 'too_small' },
    ]);
  }
}

/** `quickAuditEntry`, typed as the schema's output (its test holds the two equal). */
const quickEntry = quickAuditEntry as (input: unknown) => AuditEntryParsed | undefined;

/**
 * Writes one audit entry on `ctx`'s executor (so inside the caller's transaction when there is
 * one: it commits or rolls back with the write it describes), filling actor fields from the
 * scope's actor and redacting `audit.redactKeys` from `changes` and `metadata`. This is the single
 * write path every repository uses. The entry's hash is computed by the database at insert.
 * Outside a transaction the entry joins the instance's group insert (see `AuditBatchInsert`): with
 * `audit.sealAfterWrite: true` it is inserted and sealed into its month's chain in one
 * transaction before this resolves; without, it is sealed by a background pass right after.
 * Inside a transaction it is inserted there and sealed in the background after the commit.
 *
 * Throws `ValidationError` for a malformed entry (nothing written).
 * Concurrency: safe to call from any number of connections and instances at once; the chain is
 * assigned by a serialized sealing step, never by the writers.
 *
 * @example
 * ```ts
 * await ctx.atomic(async (tx) => {
 *   // ... the write ...
 *   await recordAudit(tx, { action: 'user.update', resourceType: 'user', resourceId: id });
 * });
 * ```
 */
export async function recordAudit(ctx: RepositoryContext, entry: AuditEntryInput): Promise<AuditLogResult> {
  const parsed = parseInput(AuditEntryInputSchema, entry, 'audit entry', { quick: quickEntry });
  const occurredAt = parsed.occurredAt ?? ctx.now();
  checkOccurredAt(ctx, occurredAt);
  const actor = ctx.actor;
  const userId = parsed.userId !== undefined ? parsed.userId : (actor?.userId ?? null);
  const keys = ctx.config.audit.redactKeys;
  // A break-glass scope marks every entry, at severity 'high' at least.
  const breakGlass = parsed.breakGlass ?? actor?.breakGlass;
  let severity: AuditSeverity = parsed.severity ?? 'info';
  if (breakGlass !== undefined && SEVERITY_RANK[severity] < SEVERITY_RANK.high) severity = 'high';
  await ensureAuditPartition(ctx, occurredAt);
  const values: AuditInsertValues = [
    occurredAt,
    userId,
    parsed.actorType ?? actor?.type ?? (userId === null ? 'system' : 'user'),
    parsed.action,
    parsed.resourceType,
    parsed.resourceId ?? null,
    parsed.subjectId ?? null,
    parsed.outcome ?? 'success',
    parsed.outcomeDetail ?? null,
    parsed.ip ?? actor?.ip ?? null,
    parsed.userAgent ?? actor?.userAgent ?? null,
    parsed.requestId ?? actor?.requestId ?? null,
    parsed.changes === undefined ? null : JSON.stringify(redactJson(parsed.changes, keys)),
    parsed.metadata === undefined ? null : JSON.stringify(redactJson(parsed.metadata, keys)),
    severity,
    parsed.purposeOfUse ?? null,
    parsed.legalBasis ?? null,
    parsed.recipient ?? null,
    parsed.description ?? null,
    breakGlass !== undefined,
    breakGlass?.reason ?? null,
  ];
  if (!ctx.inTransaction) {
    const id = await auditBatchInsertOf(ctx.runtime).insert(values, ctx.config.audit.sealAfterWrite);
    return { id, occurredAt };
  }
  const rows = await ctx.runPrepared<{ id: string }>(insertQuery(ctx, values));
  auditSealerOf(ctx.runtime).schedule(50);
  return { id: String(rows[0]?.id ?? ''), occurredAt };
}
