import { z } from 'zod';
import type { QueryListener } from '../telemetry/query-event.js';
import type { MeterProviderLike, TracerProviderLike } from '../telemetry/telemetry.js';

const tracerProviderSchema = z.custom<TracerProviderLike>(
  (value) => typeof (value as { getTracer?: unknown } | null)?.getTracer === 'function',
  'must be an OpenTelemetry TracerProvider (with getTracer)',
);

const meterProviderSchema = z.custom<MeterProviderLike>(
  (value) => typeof (value as { getMeter?: unknown } | null)?.getMeter === 'function',
  'must be an OpenTelemetry MeterProvider (with getMeter)',
);

/**
 * Validates `telemetry` options; see {@link TelemetryOptions}.
 *
 * @example
 * ```ts
 * import { TelemetryOptionsSchema } from 'carebase/schemas';
 * // Read the switches from a JSON settings file, refusing unknown keys.
 * const telemetry = TelemetryOptionsSchema.parse({ tracing: true, metrics: false });
 * ```
 */
export const TelemetryOptionsSchema = z.strictObject({
  tracing: z.boolean().optional(),
  metrics: z.boolean().optional(),
  queryText: z.boolean().optional(),
  tracerProvider: tracerProviderSchema.optional(),
  meterProvider: meterProviderSchema.optional(),
});

/**
 * Validates the `onQuery` hook: a function.
 *
 * @example
 * ```ts
 * import { QueryListenerSchema } from 'carebase/schemas';
 * const ok = QueryListenerSchema.safeParse(() => {}).success; // true
 * ```
 */
export const QueryListenerSchema = z.custom<QueryListener>(
  (value) => typeof value === 'function',
  'must be a function (event) => void',
);

/**
 * OpenTelemetry settings. carebase traces and measures through `@opentelemetry/api`, an optional
 * peer dependency: when the host installed it, spans and metrics go to the providers the host
 * registered (or the ones given here); without it, or without a registered SDK, nothing is
 * recorded and nothing is slowed down beyond a no-op call.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * // Spans without the SQL text, metrics off (another exporter already watches the pool).
 * const cb = createCarebase({ connectionString, telemetry: { queryText: false, metrics: false } });
 * ```
 */
export interface TelemetryOptions {
  /**
   * A span per public operation (`carebase users.create`) and per SQL statement under it
   * (`SELECT carebase.users`, with `db.system`, `db.operation`, `db.collection.name`, row counts).
   * @default true (when `@opentelemetry/api` is installed)
   */
  readonly tracing?: boolean | undefined;
  /**
   * Pool metrics (`db.client.connection.count` idle/used, `.max`, `.pending_requests`,
   * `.wait_time`, `.timeouts`) and statement durations (`db.client.operation.duration`).
   * @default true (when `@opentelemetry/api` is installed)
   */
  readonly metrics?: boolean | undefined;
  /**
   * Put the parameterized SQL text (`$1` placeholders, never values) on statement spans as
   * `db.query.text`.
   * @default true
   */
  readonly queryText?: boolean | undefined;
  /** Trace through this provider instead of the globally registered one. */
  readonly tracerProvider?: TracerProviderLike | undefined;
  /** Record metrics through this provider instead of the globally registered one. */
  readonly meterProvider?: MeterProviderLike | undefined;
}

/**
 * Telemetry options with defaults applied.
 *
 * @example
 * ```ts
 * import type { ResolvedTelemetryOptions } from 'carebase';
 * const { tracing }: ResolvedTelemetryOptions = cb.config.telemetry;
 * ```
 */
export interface ResolvedTelemetryOptions {
  readonly tracing: boolean;
  readonly metrics: boolean;
  readonly queryText: boolean;
  readonly tracerProvider: TracerProviderLike | undefined;
  readonly meterProvider: MeterProviderLike | undefined;
}

/** Applies the defaults of {@link TelemetryOptions}. */
export function resolveTelemetry(options: TelemetryOptions | undefined): ResolvedTelemetryOptions {
  return Object.freeze({
    tracing: options?.tracing ?? true,
    metrics: options?.metrics ?? true,
    queryText: options?.queryText ?? true,
    tracerProvider: options?.tracerProvider,
    meterProvider: options?.meterProvider,
  });
}
