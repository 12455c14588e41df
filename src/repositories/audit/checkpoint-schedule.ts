import { z } from 'zod';
import { parseInput } from '../../validation/parse-input.js';
import { type CarebaseRuntime, RuntimeState } from '../context.js';
import type { AuditCheckpointResult } from './checkpoint.js';
import type { AuditCheckpointSink } from './checkpoint-sink.js';

/**
 * Options of `cb.audit.scheduleCheckpoints()` / {@link scheduleCheckpoints}.
 *
 * @example
 * ```ts
 * import { ScheduleCheckpointsOptionsSchema } from 'carebase/schemas';
 * ScheduleCheckpointsOptionsSchema.parse({ everyMs: 15 * 60_000 });
 * ```
 */
export const ScheduleCheckpointsOptionsSchema = z.strictObject({
  /** How often, in milliseconds (at least one second). */
  everyMs: z
    .number()
    .int()
    .min(1000)
    .max(2 ** 31 - 1),
  /** @default the directory sink on `audit.checkpointDir` */
  sink: z
    .custom<AuditCheckpointSink>(
      (value) => typeof (value as { write?: unknown } | null)?.write === 'function',
      'must have a write(checkpoint, statement) method',
    )
    .optional(),
  /** Also checkpoint once right away. @default false */
  runImmediately: z.boolean().optional(),
  /** Called with each failed run's error (after it was logged by code). */
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function').optional(),
  /** Called after each stored checkpoint. */
  onCheckpoint: z
    .custom<(result: AuditCheckpointResult) => void>((value) => typeof value === 'function')
    .optional(),
});

/**
 * Options of `cb.audit.scheduleCheckpoints()`; see {@link ScheduleCheckpointsOptionsSchema}.
 *
 * @example
 * ```ts
 * import { type ScheduleCheckpointsOptions, directoryCheckpointSink } from 'carebase';
 * const options: ScheduleCheckpointsOptions = {
 *   everyMs: 15 * 60_000,
 *   sink: directoryCheckpointSink('/mnt/worm/audit'),
 *   onError: (error) => logger.error({ error }, 'audit checkpoint failed'),
 * };
 * const schedule = cb.audit.scheduleCheckpoints(options);
 * ```
 */
export interface ScheduleCheckpointsOptions {
  /** How often, in milliseconds (at least one second). */
  readonly everyMs: number;
  /** @default the directory sink on `audit.checkpointDir` */
  readonly sink?: AuditCheckpointSink | undefined;
  /** Also checkpoint once right away. @default false */
  readonly runImmediately?: boolean | undefined;
  /** Called with each failed run's error (after it was logged by code). */
  readonly onError?: ((error: unknown) => void) | undefined;
  /** Called after each stored checkpoint. */
  readonly onCheckpoint?: ((result: AuditCheckpointResult) => void) | undefined;
}

/**
 * A running checkpoint schedule. `cb.close()` stops it too (and waits for a run in progress).
 *
 * @example
 * ```ts
 * import type { CheckpointSchedule } from 'carebase';
 * const schedule: CheckpointSchedule = cb.audit.scheduleCheckpoints({ everyMs: 15 * 60_000 });
 * process.on('SIGTERM', () => void schedule.stop());
 * ```
 */
export interface CheckpointSchedule {
  /** True while a checkpoint is being made. */
  readonly running: boolean;
  /** Makes a checkpoint now unless one is being made (then returns that one). Never rejects: undefined on failure. */
  runNow(): Promise<AuditCheckpointResult | undefined>;
  /** Stops scheduling and waits for a run in progress. Idempotent. */
  stop(): Promise<void>;
}

/** The schedules of an instance, stopped by `cb.close()`. */
const SCHEDULES = new RuntimeState('audit checkpoint schedules', () => {
  const schedules = new Set<CheckpointSchedule>();
  return {
    schedules,
    async close(): Promise<void> {
      await Promise.all([...schedules].map((schedule) => schedule.stop()));
    },
  };
});

/**
 * Starts a checkpoint schedule on `runtime` that calls `make` every `everyMs`. Failures are logged
 * (code only) and passed to `onError`; they never reach the host as an unhandled rejection.
 */
export function startCheckpointSchedule(
  runtime: CarebaseRuntime,
  options: ScheduleCheckpointsOptions,
  make: (sink: AuditCheckpointSink | undefined) => Promise<AuditCheckpointResult>,
): CheckpointSchedule {
  const parsed = parseInput(ScheduleCheckpointsOptionsSchema, options, 'checkpoint schedule options');
  const registry = runtime.state(SCHEDULES);
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<AuditCheckpointResult | undefined> | undefined;
  let stopped = false;

  const run = (): Promise<AuditCheckpointResult | undefined> => {
    if (current !== undefined) return current;
    current = make(parsed.sink)
      .then(
        (result) => {
          parsed.onCheckpoint?.(result);
          return result;
        },
        (error: unknown) => {
          runtime.config.logger.warn(
            { code: (error as { code?: string }).code },
            'carebase: scheduled audit checkpoint failed',
          );
          try {
            parsed.onError?.(error);
          } catch {
            // a throwing callback must not become an unhandled rejection
          }
          return undefined;
        },
      )
      .finally(() => {
        current = undefined;
      });
    return current;
  };
  const arm = (): void => {
    if (stopped || runtime.closing) return;
    timer = setTimeout(() => {
      void run().finally(arm);
    }, parsed.everyMs);
    timer.unref();
  };

  const schedule: CheckpointSchedule = {
    get running() {
      return current !== undefined;
    },
    runNow: run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      registry.schedules.delete(schedule);
      await current;
    },
  };
  registry.schedules.add(schedule);
  if (parsed.runImmediately === true) void run();
  arm();
  return schedule;
}

/**
 * Checkpoints the audit log of `cb` every `everyMs` (see `cb.audit.checkpoint()`): the signed
 * chain heads go to the sink, so a later rewrite of the database is caught by
 * `verify({ checkpoints })`. Same as `cb.audit.scheduleCheckpoints(options)`.
 *
 * Throws `ValidationError` for bad options. Failed runs are logged and passed to `onError`.
 *
 * @example
 * ```ts
 * import { directoryCheckpointSink, scheduleCheckpoints } from 'carebase';
 * const schedule = scheduleCheckpoints(cb, { everyMs: 15 * 60_000, sink: directoryCheckpointSink('/mnt/worm/audit') });
 * await schedule.stop();
 * ```
 */
export function scheduleCheckpoints(
  cb: { readonly audit: { scheduleCheckpoints(options: ScheduleCheckpointsOptions): CheckpointSchedule } },
  options: ScheduleCheckpointsOptions,
): CheckpointSchedule {
  return cb.audit.scheduleCheckpoints(options);
}
