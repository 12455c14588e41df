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

/**
 * A source of the current time. Injected so tests can move time without sleeping.
 *
 * @example
 * ```ts
 * import { type Clock, createCarebase } from 'carebase';
 * // A test moves time forward instead of sleeping through the 15-minute idle timeout.
 * let now = new Date('2025-01-06T09:00:00Z');
 * const clock: Clock = { now: () => now };
 * const cb = createCarebase({ connectionString, clock });
 * const { token } = await cb.sessions.create({ userId });
 * now = new Date(now.getTime() + 16 * 60_000);
 * console.log(await cb.sessions.validate(token)); // undefined: idle too long
 * ```
 */
export interface Clock {
  now(): Date;
}

/**
 * The default clock: the system's.
 *
 * @example
 * ```ts
 * import { type Clock, createCarebase, systemClock } from 'carebase';
 * // A staging server may pretend to be at a fixed date; everywhere else the system clock runs.
 * const fakeNow = process.env.FAKE_NOW;
 * const clock: Clock = fakeNow === undefined ? systemClock : { now: () => new Date(fakeNow) };
 * const cb = createCarebase({ connectionString, clock });
 * ```
 */
export const systemClock: Clock = Object.freeze({ now: () => new Date() });
