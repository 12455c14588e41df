import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { refreshRollups } from './refresh-rollups.js';
import { forgetKnownPartitions } from './write-events.js';

/**
 * Input of `analytics.applyRetention()`.
 *
 * @example
 * ```ts
 * await cb.analytics.applyRetention({ keepMonths: 13 });
 * ```
 */
export const AnalyticsRetentionInputSchema = z.strictObject({
  /**
   * Whole months of raw events to keep before the current month (UTC): `keepMonths: 12` on
   * 2026-11-22 keeps events from 2025-11-01 on. Rollups are kept (summaries of older ranges stay
   * available from them).
   */
  keepMonths: z.number().int().min(1).max(1200),
});

/**
 * Input of `cb.analytics.applyRetention()`: whole months of events older than `keepMonths` are dropped. Validated by `AnalyticsRetentionInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AnalyticsRetentionInput } from 'carebase';
 * const retention: AnalyticsRetentionInput = { keepMonths: 24 };
 * await cb.analytics.applyRetention(retention);
 * ```
 */
export interface AnalyticsRetentionInput {
  /**
   * Whole months of raw events to keep before the current month (UTC): `keepMonths: 12` on
   * 2026-11-22 keeps events from 2025-11-01 on. Rollups are kept (summaries of older ranges stay
   * available from them).
   */
  readonly keepMonths: number;
}

/**
 * Result of `analytics.applyRetention()`.
 *
 * @example
 * ```ts
 * import type { AnalyticsRetentionResult } from 'carebase';
 * const { droppedPartitions, cutoff }: AnalyticsRetentionResult = await cb.analytics.applyRetention({
 *   keepMonths: 13,
 * });
 * logger.info({ droppedPartitions, cutoff }, 'raw analytics events before the cutoff removed; rollups kept');
 * ```
 */
export interface AnalyticsRetentionResult {
  /** Names of the dropped monthly partitions. */
  readonly droppedPartitions: readonly string[];
  /** Raw events before this instant are gone. */
  readonly cutoff: Date;
}

/**
 * Rolls up everything first, then drops whole monthly partitions of raw events that end at or
 * before the cutoff, records `analytics.retention` in the audit log, all in one transaction.
 */
export async function applyRetention(
  ctx: RepositoryContext,
  keepMonths: number,
): Promise<AnalyticsRetentionResult> {
  const now = ctx.now();
  const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - keepMonths, 1));
  await refreshRollups(ctx);
  const result = await ctx.atomic(async (tx) => {
    // The owner's analytics_drop_partitions_before() (SECURITY DEFINER) drops the partitions and
    // records the new raw_retained_from; the app role needs no DDL.
    const { rows } = await sql<{ name: string }>`
      select name from ${sql.id(ctx.config.schema, 'analytics_drop_partitions_before')}(${cutoff}) as name`.execute(
      tx.db,
    );
    const dropped = rows.map((row) => row.name);
    await recordAudit(tx, {
      action: 'analytics.retention',
      resourceType: 'analytics_events',
      metadata: { keepMonths, cutoff: cutoff.toISOString(), droppedPartitions: dropped },
    });
    return { droppedPartitions: dropped, cutoff };
  });
  forgetKnownPartitions(ctx.runtime);
  return result;
}
