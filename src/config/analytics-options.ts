import { z } from 'zod';

/**
 * Options of the analytics events store.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ analytics: { maxDataBytes: 4096 } });
 * ```
 */
export const AnalyticsOptionsSchema = z
  .strictObject({
    /** Largest accepted `data` payload per event, in bytes of JSON. @default 8192 */
    maxDataBytes: z.number().int().positive().default(8192),
  })
  .prefault({});

/** Analytics options as a host writes them. */
export type AnalyticsOptions = z.input<typeof AnalyticsOptionsSchema>;
/** Analytics options with defaults applied. */
export type ResolvedAnalyticsOptions = z.output<typeof AnalyticsOptionsSchema>;
