import { isIP } from 'node:net';
import { sql } from 'kysely';
import { z } from 'zod';
import { parseInput } from '../../errors/validation.js';
import type { JsonValue } from '../../schema/audit.js';
import type { CarebaseRuntime, RepositoryContext } from '../context.js';

/**
 * One audit entry as repositories and hosts write it: who (actor), what (action on a resource),
 * about whom (subject), when, where (IP, user agent, request id) and with what outcome, plus a
 * JSON change set. Fields left out are taken from the scope's actor (`cb.withActor`).
 */
export const AuditEntryInput = z.strictObject({
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
  changes: z.record(z.string(), z.unknown()).optional(),
  /** Free-form JSON context; redacted like `changes`. */
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** @default now (the configured clock) */
  occurredAt: z.date().optional(),
});

/** An audit entry as written by hosts and repositories. */
export type AuditEntryInput = z.input<typeof AuditEntryInput>;

/**
 * Writes one audit entry on `ctx`'s executor (so inside the caller's transaction when there is
 * one), filling actor fields from the scope's actor. This is the single write path every
 * repository uses; the audit module owns its internals (tamper evidence, partitions, redaction).
 *
 * Throws `ValidationError` for a malformed entry (nothing written).
 */
export async function recordAudit(ctx: RepositoryContext, entry: AuditEntryInput): Promise<void> {
  const parsed = parseInput(AuditEntryInput, entry, 'audit entry');
  const actor = ctx.actor;
  const userId = parsed.userId !== undefined ? parsed.userId : (actor?.userId ?? null);
  const occurredAt = parsed.occurredAt ?? ctx.now();
  await ensurePartition(ctx, occurredAt);
  await ctx.db
    .insertInto('audit_log')
    .values({
      occurred_at: occurredAt,
      actor_user_id: userId,
      actor_type: parsed.actorType ?? actor?.type ?? (userId === null ? 'system' : 'user'),
      action: parsed.action,
      resource_type: parsed.resourceType,
      resource_id: parsed.resourceId ?? null,
      subject_id: parsed.subjectId ?? null,
      outcome: parsed.outcome ?? 'success',
      outcome_detail: parsed.outcomeDetail ?? null,
      ip: parsed.ip ?? actor?.ip ?? null,
      user_agent: parsed.userAgent ?? actor?.userAgent ?? null,
      request_id: parsed.requestId ?? actor?.requestId ?? null,
      changes: redact(parsed.changes, ctx.config.audit.redactKeys) ?? null,
      metadata: redact(parsed.metadata, ctx.config.audit.redactKeys) ?? null,
    })
    .execute();
}

/** Months known to have a partition, per carebase instance. */
const knownMonths = new WeakMap<CarebaseRuntime, Set<string>>();

async function ensurePartition(ctx: RepositoryContext, at: Date): Promise<void> {
  const key = `${at.getUTCFullYear()}-${at.getUTCMonth()}`;
  let months = knownMonths.get(ctx.runtime);
  if (months === undefined) {
    months = new Set();
    knownMonths.set(ctx.runtime, months);
  }
  if (months.has(key)) return;
  await sql`select ${sql.id(ctx.config.schema)}.ensure_monthly_partitions('audit_log', ${at}, 0)`.execute(
    ctx.db,
  );
  months.add(key);
}

function redact(value: Record<string, unknown> | undefined, keys: readonly string[]): JsonValue | undefined {
  if (value === undefined) return undefined;
  const lowered = new Set(keys.map((key) => key.toLowerCase()));
  const walk = (node: unknown): JsonValue => {
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object' && !(node instanceof Date)) {
      return Object.fromEntries(
        Object.entries(node).map(([key, inner]) => [
          key,
          lowered.has(key.toLowerCase()) ? '[redacted]' : walk(inner),
        ]),
      );
    }
    if (node instanceof Date) return node.toISOString();
    return (node ?? null) as JsonValue;
  };
  return walk(value);
}
