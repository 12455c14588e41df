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
