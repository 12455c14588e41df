/**
 * The logger interface carebase writes to: the pino calling convention (`obj` first, then an
 * optional message), so a pino, bunyan-style or console-backed logger fits without an adapter.
 * carebase never passes query parameters, passwords, tokens or message content to it.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { createCarebase } from 'carebase';
 * const cb = createCarebase({ logger: pino() });
 * ```
 */
export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

const noop = (): void => {};

/**
 * The default logger: discards everything.
 *
 * @example
 * ```ts
 * import { createCarebase, silentLogger } from 'carebase';
 * // Quiet in tests, the app's logger elsewhere.
 * const cb = createCarebase({
 *   connectionString,
 *   logger: process.env.NODE_ENV === 'test' ? silentLogger : logger,
 * });
 * ```
 */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
