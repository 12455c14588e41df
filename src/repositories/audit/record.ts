import { isIP } from 'node:net';
import { CompiledQuery } from 'kysely';
import { z } from 'zod';
import { ValidationError } from '../../errors/errors.js';
import { jsonObjectSchema } from '../../validation/json.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import { type AuditInsertValues, auditBatchInsertOf, singleInsertSql } from './batch-insert.js';
import { ensureAuditPartition } from './partitions.js';
import { redactJson } from './redact.js';
import { auditSealerOf } from './sealer.js';

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
  action: z
    .string()
    .max(100)
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/, 'must be a dotted lower-case verb like user.login'),
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
  /**
   * When it happened: within the retention period and at most one day ahead of the clock.
   * @default now (the configured clock)
   */
  occurredAt: z.date().optional(),
});

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
  const parsed = parseInput(AuditEntryInputSchema, entry, 'audit entry');
  const occurredAt = parsed.occurredAt ?? ctx.now();
  checkOccurredAt(ctx, occurredAt);
  const actor = ctx.actor;
  const userId = parsed.userId !== undefined ? parsed.userId : (actor?.userId ?? null);
  const keys = ctx.config.audit.redactKeys;
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
  ];
  if (!ctx.inTransaction) {
    const id = await auditBatchInsertOf(ctx.runtime).insert(values, ctx.config.audit.sealAfterWrite);
    return { id, occurredAt };
  }
  const rows = await ctx.runPrepared<{ id: string }>(insertQuery(ctx, values));
  auditSealerOf(ctx.runtime).schedule(50);
  return { id: String(rows[0]?.id ?? ''), occurredAt };
}
