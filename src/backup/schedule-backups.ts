import { dirname } from 'node:path';
import { z } from 'zod';
import { parseInput } from '../errors/validation.js';
import type { Logger } from '../logging/logger.js';
import { type BackupConnectionOptions, BackupConnectionShape, resolveBackupConfig } from './connection.js';
import { type BackupResult, createBackup } from './create-backup.js';
import { type PruneResult, pruneBackups } from './prune-backups.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `'24h'`, `'90m'`, `'1h30m'`, `'daily@02:30'` (UTC), or milliseconds.
 *
 * @example
 * ```ts
 * import { type BackupInterval, scheduleBackups } from 'carebase/backup';
 * const every: BackupInterval = process.env.BACKUP_EVERY ?? 'daily@02:30'; // or '6h', '1h30m', 3_600_000
 * const schedule = scheduleBackups({ carebase: cb, every, prune: true });
 * ```
 */
export type BackupInterval = string | number;

/** A parsed schedule: a fixed period, or a daily UTC time. */
export type ParsedInterval =
  | { readonly kind: 'every'; readonly ms: number }
  | { readonly kind: 'daily'; readonly hour: number; readonly minute: number };

/** Parses an interval; undefined when it is not one. */
export function parseInterval(every: BackupInterval): ParsedInterval | undefined {
  if (typeof every === 'number')
    return Number.isFinite(every) && every > 0 ? { kind: 'every', ms: every } : undefined;
  const daily = /^daily@([01]\d|2[0-3]):([0-5]\d)$/.exec(every.trim());
  if (daily !== null) return { kind: 'daily', hour: Number(daily[1]), minute: Number(daily[2]) };
  const parts = every.trim().match(/\d+(?:ms|s|m|h|d)/g);
  if (parts === null || parts.join('') !== every.trim()) return undefined;
  let ms = 0;
  for (const part of parts) {
    const [, amount, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(part) ?? [];
    ms += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(ms) && ms > 0 ? { kind: 'every', ms } : undefined;
}

/** Milliseconds from `now` to the next run of `interval` (before jitter). */
export function delayUntilNext(interval: ParsedInterval, now: Date): number {
  if (interval.kind === 'every') return interval.ms;
  const next = new Date(now);
  next.setUTCHours(interval.hour, interval.minute, 0, 0);
  if (next.getTime() <= now.getTime()) next.setUTCDate(next.getUTCDate() + 1);
  return next.getTime() - now.getTime();
}

/**
 * Validates {@link scheduleBackups}' options.
 *
 * @example
 * ```ts
 * import { ScheduleBackupsOptionsSchema } from 'carebase/backup';
 * // Refuse to boot with a schedule that cannot be parsed (e.g. 'daily@2:30').
 * const parsed = ScheduleBackupsOptionsSchema.safeParse({
 *   every: process.env.BACKUP_EVERY ?? '24h',
 *   prune: true,
 * });
 * if (!parsed.success) throw new Error("BACKUP_EVERY must look like '24h', '90m' or 'daily@02:30'");
 * ```
 */
export const ScheduleBackupsOptionsSchema = z.strictObject({
  ...BackupConnectionShape,
  /** How often: `'24h'`, `'6h'`, `'1h30m'`, `'daily@02:30'` (UTC), or milliseconds. */
  every: z.union([z.string(), z.number()]).refine((value) => parseInterval(value) !== undefined, {
    message: "must be a duration like '24h' or '90m', 'daily@HH:MM' (UTC), or milliseconds",
  }),
  /** Prune after each successful backup; `true` uses the defaults (keep 10, 30 days). */
  prune: z
    .union([
      z.boolean(),
      z.strictObject({
        keepLast: z.number().int().nonnegative().optional(),
        maxAgeDays: z.number().nonnegative().optional(),
      }),
    ])
    .optional(),
  /** Each run starts up to this many ms late, at random, so replicas do not all dump at once. @default 0 */
  jitterMs: z.number().int().nonnegative().optional(),
  /** Also run once right away. @default false */
  runImmediately: z.boolean().optional(),
  dir: z.string().min(1).optional(),
  compression: z.number().int().min(0).max(9).optional(),
  binDir: z.string().min(1).optional(),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function').optional(),
  onSuccess: z.custom<(run: ScheduledRun) => void>((value) => typeof value === 'function').optional(),
});

/**
 * Options of {@link scheduleBackups}.
 *
 * @example
 * ```ts
 * import { type ScheduleBackupsOptions, scheduleBackups } from 'carebase/backup';
 * const options: ScheduleBackupsOptions = {
 *   carebase: cb,
 *   every: 'daily@02:30',
 *   prune: { keepLast: 14, maxAgeDays: 30 },
 *   jitterMs: 5 * 60_000, // replicas do not all dump at once
 *   onError: (error) => logger.error({ error }, 'scheduled backup failed'),
 * };
 * const schedule = scheduleBackups(options);
 * ```
 */
export interface ScheduleBackupsOptions extends BackupConnectionOptions {
  readonly every: BackupInterval;
  readonly prune?: boolean | { readonly keepLast?: number; readonly maxAgeDays?: number } | undefined;
  readonly jitterMs?: number | undefined;
  readonly runImmediately?: boolean | undefined;
  readonly dir?: string | undefined;
  readonly compression?: number | undefined;
  readonly binDir?: string | undefined;
  /** Called with every failed run's error (after it was logged). */
  readonly onError?: ((error: unknown) => void) | undefined;
  /** Called after every successful run. */
  readonly onSuccess?: ((run: ScheduledRun) => void) | undefined;
}

/**
 * One successful scheduled run.
 *
 * @example
 * ```ts
 * import { scheduleBackups, type ScheduledRun } from 'carebase/backup';
 * const schedule = scheduleBackups({
 *   carebase: cb,
 *   every: '6h',
 *   prune: true,
 *   onSuccess: (run: ScheduledRun) =>
 *     logger.info({ path: run.backup.path, pruned: run.prune?.deleted.length }, 'backup done'),
 * });
 * ```
 */
export interface ScheduledRun {
  readonly backup: BackupResult;
  readonly prune: PruneResult | undefined;
}

/**
 * A running schedule.
 *
 * @example
 * ```ts
 * import { type BackupSchedule, scheduleBackups } from 'carebase/backup';
 * const schedule: BackupSchedule = scheduleBackups({ carebase: cb, every: 'daily@02:30', prune: true });
 * app.post('/admin/backup-now', async (_req, res) => res.json(await schedule.runNow()));
 * process.once('SIGTERM', () => void schedule.stop().then(() => cb.close()));
 * ```
 */
export interface BackupSchedule {
  /** When the next run is due (undefined once stopped). */
  readonly nextRunAt: Date | undefined;
  /** True while a run is in progress. */
  readonly running: boolean;
  /** Runs a backup now unless one is running (then returns that run). Never rejects. */
  runNow(): Promise<ScheduledRun | undefined>;
  /** Stops scheduling; cancels an in-progress run's pg_dump and waits for it to end. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs `createBackup` (then, optionally, `pruneBackups`) on a schedule inside this process, for
 * hosts without cron: every fixed period (`'24h'`) or daily at a UTC time (`'daily@02:30'`), with
 * random jitter. Runs never overlap: a run still going when the next is due makes that one skip
 * (logged at `warn`). A failed run is logged at `error` (code only, no secrets) and passed to
 * `onError`; the schedule carries on. The timer keeps the process alive until `stop()`.
 *
 * Throws `ValidationError` for a bad interval or options (before anything is scheduled).
 *
 * @example
 * ```ts
 * import { isCarebaseError } from 'carebase';
 * import { scheduleBackups } from 'carebase/backup';
 * const schedule = scheduleBackups({
 *   connectionString: process.env.DATABASE_URL,
 *   every: 'daily@02:30',
 *   jitterMs: 10 * 60_000,
 *   prune: { keepLast: 10, maxAgeDays: 30 },
 *   onError: (error) => console.error('backup failed', isCarebaseError(error) ? error.code : error),
 * });
 * process.on('SIGTERM', () => schedule.stop());
 * ```
 */
export function scheduleBackups(options: ScheduleBackupsOptions): BackupSchedule {
  const parsed = parseInput(
    ScheduleBackupsOptionsSchema,
    options,
    'schedule options',
  ) as ScheduleBackupsOptions;
  const interval = parseInterval(parsed.every) as ParsedInterval;
  const config = resolveBackupConfig(options);
  const logger: Logger = config.logger;
  const { onError, onSuccess, prune, jitterMs = 0 } = parsed;
  const connection: BackupConnectionOptions =
    options.carebase !== undefined ? { carebase: options.carebase } : { carebase: { config } };

  let timer: NodeJS.Timeout | undefined;
  let nextRunAt: Date | undefined;
  let current: Promise<ScheduledRun | undefined> | undefined;
  let controller: AbortController | undefined;
  let stopped = false;

  const runOnce = async (): Promise<ScheduledRun | undefined> => {
    controller = new AbortController();
    try {
      const backup = await createBackup({
        ...connection,
        ...(parsed.dir === undefined ? {} : { dir: parsed.dir }),
        ...(parsed.compression === undefined ? {} : { compression: parsed.compression }),
        ...(parsed.binDir === undefined ? {} : { binDir: parsed.binDir }),
        signal: controller.signal,
      });
      const pruned =
        prune === undefined || prune === false
          ? undefined
          : await pruneBackups({
              dir: dirname(backup.path),
              logger,
              ...(parsed.binDir === undefined ? {} : { binDir: parsed.binDir }),
              ...(prune === true ? {} : prune),
            });
      const run = { backup, prune: pruned };
      onSuccess?.(run);
      return run;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      logger.error(
        { err: { code: typeof code === 'string' ? code : 'UNKNOWN' } },
        'carebase: scheduled backup failed',
      );
      try {
        onError?.(error);
      } catch {
        // A throwing callback must not stop the schedule.
      }
      return undefined;
    } finally {
      controller = undefined;
    }
  };

  const runNow = (): Promise<ScheduledRun | undefined> => {
    if (current !== undefined) return current;
    const run = runOnce().finally(() => {
      current = undefined;
    });
    current = run;
    return run;
  };

  const schedule = (): void => {
    if (stopped) return;
    const delay = delayUntilNext(interval, new Date()) + Math.floor(Math.random() * jitterMs);
    nextRunAt = new Date(Date.now() + delay);
    timer = setTimeout(() => {
      timer = undefined;
      if (current !== undefined) {
        logger.warn({}, 'carebase: scheduled backup skipped: the previous run is still in progress');
      } else {
        void runNow();
      }
      schedule();
    }, delay);
  };

  if (parsed.runImmediately === true) void runNow();
  schedule();

  return {
    get nextRunAt() {
      return nextRunAt;
    },
    get running() {
      return current !== undefined;
    },
    runNow,
    async stop() {
      stopped = true;
      nextRunAt = undefined;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      controller?.abort();
      await current;
    },
  };
}
