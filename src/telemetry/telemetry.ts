import { AsyncLocalStorage } from 'node:async_hooks';
import type { Attributes, Meter, Span, Tracer } from '@opentelemetry/api';
import type { Logger } from '../logging/logger.js';
import { DatabaseMetrics, type ObservedPool } from './database-metrics.js';
import { describeSql } from './describe-sql.js';
import { loadOpenTelemetry, type OpenTelemetryApi } from './otel-api.js';
import type { QueryEvent, QueryListener } from './query-event.js';

/** The instrumentation scope name of carebase's tracer and meter. */
export const INSTRUMENTATION_NAME = 'carebase';

/**
 * A provider of tracers, as `@opentelemetry/api`'s `TracerProvider` (declared here: the package is
 * optional, so carebase's types never require it).
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api';
 * import { createCarebase, type TracerProviderLike } from 'carebase';
 * const tracerProvider: TracerProviderLike = trace.getTracerProvider();
 * const cb = createCarebase({ connectionString, telemetry: { tracerProvider } });
 * ```
 */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): object;
}

/**
 * A provider of meters, as `@opentelemetry/api`'s `MeterProvider`.
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { createCarebase, type MeterProviderLike } from 'carebase';
 * const meterProvider: MeterProviderLike = metrics.getMeterProvider();
 * const cb = createCarebase({ connectionString, telemetry: { meterProvider } });
 * ```
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): object;
}

/** What one instance's telemetry is built from (resolved options plus where it connects). */
export interface TelemetrySettings {
  readonly onQuery: QueryListener | undefined;
  readonly tracing: boolean;
  readonly metrics: boolean;
  readonly queryText: boolean;
  readonly tracerProvider: TracerProviderLike | undefined;
  readonly meterProvider: MeterProviderLike | undefined;
  readonly database: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly poolName: string;
  readonly logger: Logger;
}

/** A statement in flight: end it once, with its counts or its failure. */
export interface QueryProbe {
  end(returnedRows: number | undefined, rowCount: number | null | undefined): void;
  fail(driverError: unknown, code: string): void;
}

/** The public call a statement runs for: its name and its span. */
interface OperationFrame {
  readonly name: string;
  readonly span: Span | undefined;
}

/** Carries the current public call across awaits (not per-instance state: one value per call). */
const currentOperation = new AsyncLocalStorage<OperationFrame>();

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * One carebase instance's telemetry: spans for public operations and their SQL, pool and query
 * metrics through `@opentelemetry/api` (when installed), and the `onQuery` hook. Attributes carry
 * names, counts, durations and codes: never parameter values, row content or error messages from
 * the server (which can quote values).
 */
export class Telemetry {
  readonly #settings: TelemetrySettings;
  readonly #api: OpenTelemetryApi | undefined;
  readonly #tracer: Tracer | undefined;
  /**
   * The global proxy provider when spans go through it: until an SDK registers a provider behind
   * it, every span it starts is a non-recording no-op, so none is started (see `#tracing`).
   */
  readonly #proxy: { getDelegate(): unknown } | undefined;
  /** What `#proxy.getDelegate()` returns while no SDK is registered. */
  readonly #noDelegate: unknown;
  readonly #metrics: DatabaseMetrics | undefined;
  readonly #base: Attributes;
  #hookFailed = false;

  constructor(settings: TelemetrySettings) {
    this.#settings = settings;
    const api = settings.tracing || settings.metrics ? loadOpenTelemetry() : undefined;
    this.#api = api;
    this.#base = {
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.namespace': settings.database,
      'server.address': settings.serverAddress,
      'server.port': settings.serverPort,
    };
    if (api !== undefined && settings.tracing) {
      const provider: object = settings.tracerProvider ?? api.trace.getTracerProvider();
      this.#tracer = (provider as { getTracer(name: string): Tracer }).getTracer(INSTRUMENTATION_NAME);
      // The global provider before any SDK registered is a proxy: its tracers start working once
      // one does (so this is asked per call, a property read), and until then cost nothing here.
      if (provider instanceof api.ProxyTracerProvider) {
        this.#proxy = provider;
        this.#noDelegate = new api.ProxyTracerProvider().getDelegate();
      }
    }
    if (api !== undefined && settings.metrics) {
      const provider = (settings.meterProvider as never) ?? api.metrics.getMeterProvider();
      const meter = (provider as { getMeter(name: string): Meter }).getMeter(INSTRUMENTATION_NAME);
      // No SDK registered when carebase started: the API hands out its no-op meter, for good (a
      // meter provider registered later is not seen by meters made before it), so none is kept.
      if (meter !== api.createNoopMeter?.()) this.#metrics = new DatabaseMetrics(meter, settings.poolName);
    }
  }

  /** The tracer, while spans can be recorded (an SDK's provider is behind it). */
  get #tracing(): Tracer | undefined {
    const proxy = this.#proxy;
    if (proxy !== undefined && proxy.getDelegate() === this.#noDelegate) return undefined;
    return this.#tracer;
  }

  /** Telemetry that does nothing (no hook, no OpenTelemetry). */
  static readonly disabled: Telemetry = new Telemetry({
    onQuery: undefined,
    tracing: false,
    metrics: false,
    queryText: false,
    tracerProvider: undefined,
    meterProvider: undefined,
    database: '',
    serverAddress: '',
    serverPort: 0,
    poolName: '',
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });

  /**
   * True when public operations may ever be worth wrapping: a tracer (even one whose SDK is not
   * registered yet) or the hook. Repositories are wrapped once, when first used.
   */
  get mayTraceOperations(): boolean {
    return this.#tracer !== undefined || this.#settings.onQuery !== undefined;
  }

  /** True when public operations are worth wrapping now (spans, or the hook wants their names). */
  get tracesOperations(): boolean {
    return this.#tracing !== undefined || this.#settings.onQuery !== undefined;
  }

  /** True when statements are observed at all. */
  get observesQueries(): boolean {
    return this.tracesOperations || this.#metrics !== undefined;
  }

  /**
   * Runs `fn` as the public operation `name` (e.g. `users.create`): a span around it (ended when
   * its promise settles, or a returned stream closes) that the SQL it runs is parented to.
   */
  operation<T>(name: string, fn: () => T): T {
    const tracer = this.#tracing;
    if (tracer === undefined && this.#settings.onQuery === undefined) return fn();
    const api = this.#api;
    const parent = currentOperation.getStore();
    let span: Span | undefined;
    if (tracer !== undefined && api !== undefined) {
      const parentContext =
        parent?.span === undefined
          ? api.context.active()
          : api.trace.setSpan(api.context.active(), parent.span);
      span = tracer.startSpan(
        `carebase ${name}`,
        {
          kind: api.SpanKind.INTERNAL,
          attributes: {
            'carebase.operation': name,
            'db.system': 'postgresql',
            'db.namespace': this.#settings.database,
          },
        },
        parentContext,
      );
      // No SDK registered (or sampled out): nothing to parent, nothing to end.
      if (!span.isRecording()) span = undefined;
    }
    if (span === undefined && this.#settings.onQuery === undefined) return fn();
    const frame: OperationFrame = { name, span };
    let result: T;
    try {
      result = currentOperation.run(frame, () =>
        span === undefined || api === undefined
          ? fn()
          : api.context.with(api.trace.setSpan(api.context.active(), span), fn),
      );
    } catch (error) {
      endOperation(api, span, error, undefined);
      throw error;
    }
    if (span === undefined) return result;
    if (isPromiseLike(result)) {
      return result.then(
        (value) => {
          endOperation(api, span, undefined, value);
          return value;
        },
        (error: unknown) => {
          endOperation(api, span, error, undefined);
          throw error;
        },
      ) as T;
    }
    if (isEmitter(result)) {
      let ended = false;
      const end = (error?: unknown): void => {
        if (ended) return;
        ended = true;
        endOperation(api, span, error, undefined);
      };
      result.once('close', () => end());
      result.once('error', (error: unknown) => end(error));
      // A stream produces its rows when its consumer reads: run each read as part of this call, so
      // the export's SQL (cursor reads) is parented to its span and named in onQuery events.
      const readable = result as unknown as { _read?: (size: number) => void };
      const read = readable._read;
      if (typeof read === 'function') {
        readable._read = (size: number) => currentOperation.run(frame, () => read.call(result, size));
      }
      return result;
    }
    endOperation(api, span, undefined, result);
    return result;
  }

  /** Starts observing one statement; `undefined` when nothing listens (the hot path stays bare). */
  query(sql: string): QueryProbe | undefined {
    const tracer = this.#tracing;
    if (tracer === undefined && this.#settings.onQuery === undefined && this.#metrics === undefined) {
      return undefined;
    }
    const started = performance.now();
    const frame = currentOperation.getStore();
    const description = describeSql(sql);
    const api = this.#api;
    let span: Span | undefined;
    if (tracer !== undefined && api !== undefined) {
      const parentContext =
        frame?.span === undefined
          ? api.context.active()
          : api.trace.setSpan(api.context.active(), frame.span);
      span = tracer.startSpan(
        description.table === undefined
          ? (description.operation ?? 'postgresql')
          : `${description.operation} ${description.table}`,
        { kind: api.SpanKind.CLIENT, attributes: this.#base },
        parentContext,
      );
      if (span.isRecording()) {
        if (description.operation !== undefined) {
          span.setAttribute('db.operation', description.operation);
          span.setAttribute('db.operation.name', description.operation);
        }
        if (description.table !== undefined) span.setAttribute('db.collection.name', description.table);
        if (this.#settings.queryText) span.setAttribute('db.query.text', sql);
        if (frame !== undefined) span.setAttribute('carebase.operation', frame.name);
      }
    }
    let done = false;
    const finish = (rows: number | undefined, error: QueryEvent['error']): void => {
      if (done) return;
      done = true;
      const durationMs = performance.now() - started;
      if (span !== undefined && api !== undefined) {
        if (error === undefined) {
          if (rows !== undefined) span.setAttribute('db.response.returned_rows', rows);
        } else {
          span.setAttribute('error.type', error.code);
          if (error.sqlState !== undefined) span.setAttribute('db.response.status_code', error.sqlState);
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.code });
        }
        span.end();
      }
      if (this.#metrics !== undefined) {
        const attributes: Attributes = {
          'db.system.name': 'postgresql',
          'db.namespace': this.#settings.database,
        };
        if (description.operation !== undefined) attributes['db.operation.name'] = description.operation;
        if (description.table !== undefined) attributes['db.collection.name'] = description.table;
        if (error !== undefined) attributes['error.type'] = error.code;
        this.#metrics.statement(durationMs, attributes);
      }
      const hook = this.#settings.onQuery;
      if (hook !== undefined) {
        const event: QueryEvent = {
          level: error === undefined ? 'query' : 'error',
          sql,
          operation: description.operation,
          table: description.table,
          carebaseOperation: frame?.name,
          durationMs,
          rowCount: rows,
          ...(error === undefined ? {} : { error }),
        };
        this.#emit(hook, event);
      }
    };
    return {
      end: (returnedRows, rowCount) => {
        // A write's count is PostgreSQL's command tag; a read's is the rows it returned.
        const writes = description.operation !== 'SELECT' && typeof rowCount === 'number';
        finish(writes ? rowCount : (returnedRows ?? rowCount ?? undefined), undefined);
      },
      fail: (driverError, code) => {
        const state = (driverError as { code?: unknown } | null)?.code;
        finish(undefined, {
          code,
          sqlState: typeof state === 'string' && SQLSTATE.test(state) ? state : undefined,
        });
      },
    };
  }

  /** Records one checkout of a pooled connection: how long it waited, and whether it timed out. */
  poolWait(waitedMs: number, timedOut: boolean): void {
    this.#metrics?.checkout(waitedMs, timedOut);
  }

  /** Whether {@link poolWait} records anything (metrics are on): checkouts need not be timed else. */
  get observesPoolWaits(): boolean {
    return this.#metrics !== undefined;
  }

  /**
   * Observes `pool`'s counts (connections idle and used, the maximum, callers waiting) as
   * OpenTelemetry metrics; returns the function that stops (called by `cb.close()`).
   */
  observePool(pool: ObservedPool): () => void {
    return this.#metrics?.observe(pool) ?? (() => {});
  }

  #emit(hook: QueryListener, event: QueryEvent): void {
    try {
      hook(event);
    } catch (error) {
      if (this.#hookFailed) return;
      this.#hookFailed = true;
      this.#settings.logger.warn(
        { errorType: error instanceof Error ? error.name : typeof error },
        'carebase: the onQuery hook threw; its errors are ignored from now on',
      );
    }
  }
}

function endOperation(
  api: OpenTelemetryApi | undefined,
  span: Span | undefined,
  error: unknown,
  value: unknown,
): void {
  if (span === undefined || api === undefined) return;
  if (error !== undefined) {
    const code = (error as { code?: unknown } | null)?.code;
    const type = isCarebaseCode(error, code) ? code : '_OTHER';
    span.setAttribute('error.type', type);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: type });
  } else {
    const count = resultCount(value);
    if (count !== undefined) span.setAttribute('carebase.result.count', count);
  }
  span.end();
}

/** carebase's own errors carry an upper-case code (`NOT_FOUND`); a host's error is just `_OTHER`. */
function isCarebaseCode(error: unknown, code: unknown): code is string {
  return (
    typeof code === 'string' &&
    /^[A-Z][A-Z_]+$/.test(code) &&
    typeof (error as { name?: unknown }).name === 'string'
  );
}

/** How many things a result holds: a number, an array's length, a page's items. */
function resultCount(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.length;
  const items = (value as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? items.length : undefined;
}

function isPromiseLike(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function isEmitter(value: unknown): value is NodeJS.EventEmitter {
  return (
    typeof (value as { once?: unknown } | null)?.once === 'function' &&
    typeof (value as { pipe?: unknown } | null)?.pipe === 'function'
  );
}
