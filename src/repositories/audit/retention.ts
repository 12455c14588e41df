import { CompiledQuery } from 'kysely';
import { z } from 'zod';
import { quoteIdentifier } from '../../sql/identifier.js';
import type { RepositoryContext } from '../context.js';
import { forgetAuditPartitions } from './partitions.js';
import { recordAudit } from './record.js';
import { auditSealerOf } from './sealer.js';

/**
 * Options of `cb.audit.applyRetention()`.
 *
 * @example
 * ```ts
 * import { AuditRetentionInputSchema } from 'carebase/schemas';
 * AuditRetentionInputSchema.parse({ now: new Date() });
 * ```
 */
export const AuditRetentionInputSchema = z.strictObject({
  /** The reference time. @default now (the configured clock) */
  now: z.date().optional(),
});

/**
 * Options of `cb.audit.applyRetention()`. Validated by `AuditRetentionInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditRetentionInput } from 'carebase';
 * const options: AuditRetentionInput = { now: new Date() };
 * const result = await cb.audit.applyRetention(options);
 * ```
 */
export interface AuditRetentionInput {
  /** The reference time. @default now (the configured clock) */
  readonly now?: Date | undefined;
}

/**
 * What `applyRetention()` did.
 *
 * @example
 * ```ts
 * import type { AuditRetentionResult } from 'carebase';
 * const { cutoff, droppedMonths }: AuditRetentionResult = await cb.audit.applyRetention();
 * logger.info({ cutoff, droppedMonths }, 'audit partitions past retention dropped');
 * ```
 */
export interface AuditRetentionResult {
  /** Entries older than this may be gone: `now` minus `audit.retentionMonths`. */
  readonly cutoff: Date;
  /** The months (`YYYY-MM`, UTC) whose partitions were dropped, oldest first. */
  readonly droppedMonths: string[];
}

/** Drops whole monthly partitions entirely older than the cutoff and audits it, atomically. */
export async function applyAuditRetention(
  ctx: RepositoryContext,
  input: z.output<typeof AuditRetentionInputSchema>,
): Promise<AuditRetentionResult> {
  const now = input.now ?? ctx.now();
  const cutoff = new Date(now);
  cutoff.setUTCMonth(cutoff.getUTCMonth() - ctx.config.audit.retentionMonths);
  const schema = quoteIdentifier(ctx.config.schema);
  const droppedMonths = await ctx.atomic(async (tx) => {
    const result = await tx.db.executeQuery<{ month: Date }>(
      CompiledQuery.raw(
        `select month from ${schema}.audit_drop_partitions_before($1::timestamptz) as month`,
        [cutoff],
      ),
    );
    const months = result.rows.map((row) => row.month.toISOString().slice(0, 7));
    await recordAudit(tx, {
      action: 'audit.retention',
      resourceType: 'audit_log',
      metadata: { droppedMonths: months, retentionMonths: ctx.config.audit.retentionMonths, cutoff },
    });
    return months;
  });
  forgetAuditPartitions(ctx.runtime);
  if (!ctx.inTransaction) await auditSealerOf(ctx.runtime).seal();
  return { cutoff, droppedMonths };
}
