import type { Attributes, Counter, Histogram, Meter, ObservableResult } from '@opentelemetry/api';

/** The pool counts metrics observe (a `pg.Pool`). */
export interface ObservedPool {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { readonly max?: number | undefined };
}

/**
 * An instance's database client metrics, with OpenTelemetry's names: statement durations
 * (`db.client.operation.duration`), checkout waits and timeouts, and the pool's counts.
 */
export class DatabaseMetrics {
  readonly #meter: Meter;
  readonly #pool: Attributes;
  readonly #duration: Histogram;
  readonly #waitTime: Histogram;
  readonly #timeouts: Counter;

  constructor(meter: Meter, poolName: string) {
    this.#meter = meter;
    this.#pool = { 'db.client.connection.pool.name': poolName };
    this.#duration = meter.createHistogram('db.client.operation.duration', {
      description: 'Duration of SQL statements carebase ran.',
      unit: 's',
    });
    this.#waitTime = meter.createHistogram('db.client.connection.wait_time', {
      description: 'Time carebase waited to check out a pooled connection.',
      unit: 's',
    });
    this.#timeouts = meter.createCounter('db.client.connection.timeouts', {
      description: 'Checkouts that timed out waiting for a pooled connection.',
      unit: '{timeout}',
    });
  }

  /** Records one statement's duration (ms) with its command, table and error type. */
  statement(durationMs: number, attributes: Attributes): void {
    this.#duration.record(durationMs / 1000, attributes);
  }

  /** Records one checkout of a pooled connection: how long it waited, and whether it timed out. */
  checkout(waitedMs: number, timedOut: boolean): void {
    this.#waitTime.record(waitedMs / 1000, this.#pool);
    if (timedOut) this.#timeouts.add(1, this.#pool);
  }

  /**
   * Observes `pool`'s counts (connections idle and used, the maximum, callers waiting) as
   * OpenTelemetry metrics; returns the function that stops (called by `cb.close()`).
   */
  observe(pool: ObservedPool): () => void {
    const meter = this.#meter;
    const poolName = this.#pool['db.client.connection.pool.name'] as string;
    const count = meter.createObservableUpDownCounter('db.client.connection.count', {
      description: 'Connections of the pool, by state (idle or used).',
      unit: '{connection}',
    });
    const max = meter.createObservableUpDownCounter('db.client.connection.max', {
      description: 'The most connections the pool opens.',
      unit: '{connection}',
    });
    const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
      description: 'Callers waiting for a pooled connection.',
      unit: '{request}',
    });
    const observeCount = (result: ObservableResult): void => {
      result.observe(pool.idleCount, {
        'db.client.connection.pool.name': poolName,
        'db.client.connection.state': 'idle',
      });
      result.observe(pool.totalCount - pool.idleCount, {
        'db.client.connection.pool.name': poolName,
        'db.client.connection.state': 'used',
      });
    };
    const observeMax = (result: ObservableResult): void => {
      result.observe(pool.options.max ?? 10, { 'db.client.connection.pool.name': poolName });
    };
    const observePending = (result: ObservableResult): void => {
      result.observe(pool.waitingCount, { 'db.client.connection.pool.name': poolName });
    };
    count.addCallback(observeCount);
    max.addCallback(observeMax);
    pending.addCallback(observePending);
    return () => {
      count.removeCallback(observeCount);
      max.removeCallback(observeMax);
      pending.removeCallback(observePending);
    };
  }
}
