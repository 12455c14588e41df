import { z } from 'zod';

const identifier = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an SQL identifier (letters, digits, underscore)');

/**
 * Options of `cb.partitionedTable()`: a host table range-partitioned by month on a time column.
 *
 * @example
 * ```ts
 * import type { PartitionedTableOptions } from 'carebase';
 * const apiLogs: PartitionedTableOptions = {
 *   schema: 'hedis',
 *   table: 'api_logs',
 *   column: 'created_at',
 *   interval: 'month',
 *   retentionMonths: 84, // 7 years
 *   ahead: 3,
 * };
 * ```
 */
export const PartitionedTableOptionsSchema = z.strictObject({
  /** The table's schema. @default 'public' */
  schema: identifier(63).optional(),
  /** The partitioned table (`PARTITION BY RANGE (column)`); at most 55 characters. */
  table: identifier(55),
  /** Its partition key: a `timestamptz`, `timestamp` or `date` column. */
  column: identifier(63),
  /** Partition size; months (UTC) are the one supported. */
  interval: z.literal('month'),
  /**
   * Whole months kept before the current (UTC) month; older monthly partitions are dropped by
   * `applyRetention()`. Stored by `register()`. @default undefined (keep everything)
   */
  retentionMonths: z.number().int().min(1).max(1200).optional(),
  /** Months created ahead of the current one by `ensurePartitions()`. @default 2 */
  ahead: z.number().int().min(0).max(60).optional(),
});

/**
 * Options of `cb.partitionedTable()`: a host table range-partitioned by month on a time column. Validated by `PartitionedTableOptionsSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { PartitionedTableOptions } from 'carebase';
 * const apiLogs: PartitionedTableOptions = { schema: 'hedis', table: 'api_logs', column: 'created_at', interval: 'month', retentionMonths: 84 };
 * await cb.partitionedTable(apiLogs).ensurePartitions();
 * ```
 */
export interface PartitionedTableOptions {
  /** The table's schema. @default 'public' */
  readonly schema?: string | undefined;
  /** The partitioned table (`PARTITION BY RANGE (column)`); at most 55 characters. */
  readonly table: string;
  /** Its partition key: a `timestamptz`, `timestamp` or `date` column. */
  readonly column: string;
  /** Partition size; months (UTC) are the one supported. */
  readonly interval: 'month';
  /**
   * Whole months kept before the current (UTC) month; older monthly partitions are dropped by
   * `applyRetention()`. Stored by `register()`. @default undefined (keep everything)
   */
  readonly retentionMonths?: number | undefined;
  /** Months created ahead of the current one by `ensurePartitions()`. @default 2 */
  readonly ahead?: number | undefined;
}

/**
 * Options of `ensurePartitions()`.
 *
 * @example
 * ```ts
 * import type { EnsurePartitionsOptions } from 'carebase';
 * // A backfill of last year's logs needs last year's partitions first.
 * const options: EnsurePartitionsOptions = { from: new Date('2025-01-01'), ahead: 12 };
 * ```
 */
export interface EnsurePartitionsOptions {
  /** The first month to cover. @default now (the configured clock) */
  readonly from?: Date | undefined;
  /** Months after `from` to cover too (0-60). @default the table's `ahead` */
  readonly ahead?: number | undefined;
}

/**
 * Validates {@link EnsurePartitionsOptions}.
 *
 * @example
 * ```ts
 * import { EnsurePartitionsOptionsSchema } from 'carebase/schemas';
 * EnsurePartitionsOptionsSchema.parse({ from: new Date('2025-01-01'), ahead: 12 });
 * ```
 */
export const EnsurePartitionsOptionsSchema = z.strictObject({
  from: z.date().optional(),
  ahead: z.number().int().min(0).max(60).optional(),
});

/**
 * Result of `applyRetention()` on a host table.
 *
 * @example
 * ```ts
 * import type { PartitionRetentionResult } from 'carebase';
 * const apiLogs = cb.partitionedTable({ schema: 'hedis', table: 'api_logs', column: 'created_at', interval: 'month' });
 * const { droppedPartitions }: PartitionRetentionResult = await apiLogs.applyRetention();
 * logger.info({ droppedPartitions }, 'old api_logs months dropped');
 * ```
 */
export interface PartitionRetentionResult {
  /** Names of the dropped monthly partitions (`<table>_pYYYYMM`). */
  readonly droppedPartitions: readonly string[];
}
