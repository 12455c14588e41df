import type { Logger } from '../logging/logger.js';

/**
 * The background work of one carebase instance: audit sealing passes, analytics rollup refreshes,
 * analytics buffers. Each piece registers here, so that `cb.close()` can finish it (a last seal
 * pass, a last buffer flush), wait for what is running, and leave no timer behind. Background
 * failures are logged, never thrown into the host.
 */
export class BackgroundWork {
  readonly #logger: Logger;
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #closers = new Set<() => Promise<void>>();
  #closing = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** True once `close()` started: schedule nothing new. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Follows `task` until it settles, so that `close()` waits for it. A rejection is logged at
   * `level` (its code only) as `what`, and never reaches the host as an unhandled rejection.
   */
  track(task: Promise<unknown>, what: string, level: 'debug' | 'warn' = 'warn'): void {
    const followed = task.then(
      () => undefined,
      (error: unknown) => {
        this.#logger[level]({ code: (error as { code?: string } | null)?.code }, `carebase: ${what} failed`);
      },
    );
    this.#tasks.add(followed);
    void followed.finally(() => this.#tasks.delete(followed));
  }

  /**
   * Registers `finish`, run once by `close()` before it waits for the tracked tasks (e.g. clear a
   * timer and run its work now). Returns a function that unregisters it.
   */
  onClose(finish: () => Promise<void>): () => void {
    this.#closers.add(finish);
    return () => {
      this.#closers.delete(finish);
    };
  }

  /**
   * Runs every registered finisher, then waits until no tracked task is left (finishers may start
   * some). Never rejects: failures are logged.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const finishers = [...this.#closers];
    this.#closers.clear();
    await Promise.all(
      finishers.map((finish) =>
        finish().catch((error: unknown) => {
          this.#logger.warn(
            { code: (error as { code?: string } | null)?.code },
            'carebase: finishing background work at close failed',
          );
        }),
      ),
    );
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }
}
