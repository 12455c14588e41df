import { z } from 'zod';

/**
 * Options of the sessions repository.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ sessions: { idleTimeoutMs: 10 * 60_000 } });
 * ```
 */
export const SessionsOptionsSchema = z
  .strictObject({
    /** A session unused this long stops validating. @default 900000 (15 min) */
    idleTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(15 * 60_000),
    /** A session stops validating this long after creation, however active. @default 43200000 (12 h) */
    absoluteTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(12 * 60 * 60_000),
    /** `last_seen_at` is written at most once per this interval per session. @default 60000 */
    touchIntervalMs: z.number().int().nonnegative().default(60_000),
  })
  .prefault({});

/** Sessions options as a host writes them. */
export type SessionsOptions = z.input<typeof SessionsOptionsSchema>;
/** Sessions options with defaults applied. */
export type ResolvedSessionsOptions = z.output<typeof SessionsOptionsSchema>;
