import { z } from 'zod';
import { ClosedError } from '../../errors/errors.js';
import { type RepositoryContext, RuntimeState } from '../context.js';
import {
  type AnalyticsEventInput,
  type PreparedEvent,
  prepareEvent,
  throwEventIssues,
} from './event-input.js';
import { writeEvents } from './write-events.js';

/**
 * Options of `analytics.buffer()`.
 *
 * @example
 * ```ts
 * const buffer = cb.analytics.buffer({ maxEvents: 500, maxDelayMs: 2000, onError: (error) => logger.warn({ error }, 'analytics flush failed') });
 * ```
 */
export const AnalyticsBufferOptionsSchema = z.strictObject({
  /** Flush as soon as this many events are waiting. @default 1000 */
  maxEvents: z.number().int().min(1).max(1_000_000).optional(),
  /** Flush at most this long after the first waiting event was accepted. @default 1000 */
  maxDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  /** Called when a background flush fails (the events stay queued and are retried). */
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function').optional(),
});

/**
 * Options of `cb.analytics.buffer()`: when buffered events are flushed, and who hears a failed flush. Validated by `AnalyticsBufferOptionsSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AnalyticsBufferOptions } from 'carebase';
 * const options: AnalyticsBufferOptions = { maxEvents: 500, maxDelayMs: 1000, onError: (error) => logger.warn({ error }, 'analytics flush failed') };
 * const buffer = cb.analytics.buffer(options);
 * ```
 */
export interface AnalyticsBufferOptions {
  /** Flush as soon as this many events are waiting. @default 1000 */
  readonly maxEvents?: number | undefined;
  /** Flush at most this long after the first waiting event was accepted. @default 1000 */
  readonly maxDelayMs?: number | undefined;
  /** Called when a background flush fails (the events stay queued and are retried). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/**
 * A buffered writer: `track()` validates synchronously and queues; batches are written with the
 * bulk path when `maxEvents` are waiting, `maxDelayMs` after the first waiting event, on `flush()`
 * and on `close()`. One flush runs at a time, in acceptance order. A failed flush keeps its events
 * queued (retried by the next flush); `close()` flushes everything accepted before it returns, so a
 * clean shutdown loses no accepted event. `cb.close()` closes every buffer still open (a last
 * flush) before it closes the pool. A failing `onError` handler is ignored, never rethrown.
 *
 * Concurrency: `track()` may be called from any number of concurrent requests; it never waits for
 * the database.
 *
 * @example
 * ```ts
 * const analytics = cb.analytics.buffer({ maxEvents: 500, maxDelayMs: 2000 });
 * app.post('/chat', (req, res) => {
 *   analytics.track({ userId: res.locals.userId, eventType: 'feature', eventName: 'chat.message_sent' });
 *   // ...
 * });
 * process.on('SIGTERM', async () => { await cb.close(); }); // flushes the buffer first
 * ```
 */
export class AnalyticsBuffer {
  readonly #ctx: RepositoryContext;
  readonly #maxEvents: number;
  readonly #maxDelayMs: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  #queue: PreparedEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  #accepted = 0;
  #written = 0;
  readonly #unregister: () => void;

  /** @internal Use `cb.analytics.buffer()`. */
  constructor(ctx: RepositoryContext, options: z.output<typeof AnalyticsBufferOptionsSchema>) {
    this.#ctx = ctx;
    this.#maxEvents = options.maxEvents ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
    this.#onError = options.onError;
    // `cb.close()` closes the buffer (a last flush) before it closes the pool.
    const open = ctx.runtime.state(OPEN_BUFFERS);
    open.add(this);
    this.#unregister = () => open.delete(this);
  }

  /** Events accepted by `track()` so far. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Events written to the database so far. */
  get written(): number {
    return this.#written;
  }

  /** Events accepted but not yet written. */
  get pending(): number {
    return this.#accepted - this.#written;
  }

  /**
   * Validates and queues one event. Throws `ValidationError` for a bad event (not queued) and
   * `ClosedError` after `close()` was called.
   */
  track(event: AnalyticsEventInput): void {
    if (this.#closed) throw new ClosedError();
    const config = this.#ctx.config.analytics;
    const prepared = prepareEvent(event, config, this.#ctx.now());
    if (Array.isArray(prepared)) throwEventIssues(prepared, []);
    this.#queue.push(prepared);
    this.#accepted++;
    if (this.#queue.length >= this.#maxEvents) void this.#flushInBackground(true);
    else this.#timer ??= setTimeout(() => void this.#flushInBackground(false), this.#maxDelayMs);
  }

  /**
   * Writes every event queued so far (waiting for a flush already running). Rejects with the
   * database error when writing fails; the events then stay queued.
   */
  flush(): Promise<void> {
    return this.#drain(false);
  }

  /** Writes batches until the queue is empty (or, with `fullOnly`, until less than a batch is left). */
  async #drain(fullOnly: boolean): Promise<void> {
    const limit = fullOnly ? this.#maxEvents : 1;
    while (this.#queue.length >= limit || this.#flushing !== undefined) {
      if (this.#flushing !== undefined) {
        await this.#flushing.catch(() => undefined);
        continue;
      }
      this.#flushing = this.#writeBatch();
      try {
        await this.#flushing;
      } finally {
        this.#flushing = undefined;
      }
    }
  }

  /**
   * Stops accepting events and writes every accepted one. Idempotent. Rejects if the final write
   * fails (the events are then still in `pending`).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unregister();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #flushInBackground(fullOnly: boolean): Promise<void> {
    try {
      await this.#drain(fullOnly);
    } catch (error) {
      if (this.#onError !== undefined) {
        try {
          this.#onError(error);
        } catch {
          // The host's handler failed: never let it escape as an unhandled rejection.
        }
      } else
        this.#ctx.config.logger.warn(
          { code: (error as { code?: string }).code },
          'carebase: analytics buffer flush failed',
        );
      if (!this.#closed)
        this.#timer ??= setTimeout(() => void this.#flushInBackground(false), this.#maxDelayMs);
    }
  }

  async #writeBatch(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#queue.splice(0, this.#maxEvents);
    try {
      await writeEvents(this.#ctx, batch);
      this.#written += batch.length;
    } catch (error) {
      this.#queue.unshift(...batch);
      throw error;
    }
    if (this.#queue.length > 0 && this.#queue.length < this.#maxEvents && !this.#closed) {
      this.#timer ??= setTimeout(() => void this.#flushInBackground(false), this.#maxDelayMs);
    }
  }
}

/** The buffers of an instance still open: `cb.close()` closes them (a last flush) before the pool ends. */
class OpenBuffers extends Set<AnalyticsBuffer> {
  async close(): Promise<void> {
    await Promise.all([...this].map((buffer) => buffer.close()));
  }
}

const OPEN_BUFFERS = new RuntimeState('analytics buffers', () => new OpenBuffers());
