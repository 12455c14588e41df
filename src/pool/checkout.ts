import type pg from 'pg';
import { type CarebaseError, ClosedError } from '../errors/errors.js';
import {
  markConnectFailure,
  markConnectionLoss,
  markPoolEnded,
  markPoolWaitTimeout,
  toCarebaseError,
} from '../errors/map-error.js';
import { isClientLost, markClientLost, watchClient } from './client-watch.js';

/** Timers may fire up to a millisecond early by a high-resolution clock; a little slack. */
const TIMER_SLACK_MS = 5;

/** Socket-level error codes: the connection itself failed. */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED']);

function isServerError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { severity?: unknown }).severity === 'string'
  );
}

/**
 * Whether `error`, raised by a query on `client`, means the connection itself is gone: the client
 * is lost (its watch saw `error` or `end`, or pg marked it unusable: pg does so before it rejects
 * the pending queries), the server said so (class 08, 57P01/57P02, or any FATAL/PANIC, which ends
 * the session; it arrives before the socket closes), or a socket error.
 */
function isConnectionLevel(client: pg.ClientBase, error: unknown): boolean {
  if (isClientLost(client)) return true;
  if (typeof error !== 'object' || error === null) return false;
  if (isServerError(error)) {
    const { code, severity } = error as { code?: string; severity?: string };
    return (
      severity === 'FATAL' ||
      severity === 'PANIC' ||
      code?.startsWith('08') === true ||
      code === '57P01' ||
      code === '57P02'
    );
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && SOCKET_CODES.has(code);
}

/**
 * The one way a query failure on a pg client becomes a carebase error: when the connection is
 * gone, the error is marked as a lost connection (so it maps to `CONNECTION_FAILED`) and the client
 * is marked lost (so {@link releaseClient} destroys it); then the one mapper maps it.
 */
export function clientFailure(client: pg.ClientBase, error: unknown): CarebaseError {
  if (isConnectionLevel(client, error)) {
    markConnectionLoss(error);
    markClientLost(client);
  }
  return toCarebaseError(error);
}

/** Hears how long a checkout waited (ms) and whether it timed out waiting for a pooled connection. */
export type CheckoutObserver = (waitedMs: number, timedOut: boolean) => void;

/**
 * Checks out a client of `pool` and watches it for its whole life (see `watchClient`). Failures
 * become carebase errors with one code per cause, whatever the timing: `ClosedError` for an ended
 * pool; `PoolTimeoutError` when the call queued for a pooled connection (the pool was at `max`,
 * even with connections still opening) and `connectionTimeoutMillis` passed; `ConnectionError`
 * (with its `reason`) when a new connection could not be opened.
 */
export function checkoutClient(pool: pg.Pool, onWait?: CheckoutObserver): Promise<pg.PoolClient> {
  if (pool.ending || pool.ended) return Promise.reject(new ClosedError());
  const started = performance.now();
  const waitingBefore = pool.waitingCount;
  // One promise of ours around pg-pool's callback form (its promise form adds one more): this runs
  // before every pooled statement.
  let queued = false;
  const pending = new Promise<pg.PoolClient>((resolve, reject) => {
    pool.connect((error, client) => {
      if (error === undefined || error === null) {
        const checkedOut = client as pg.PoolClient;
        watchClient(checkedOut);
        onWait?.(performance.now() - started, false);
        resolve(checkedOut);
        return;
      }
      const timeoutMs = pool.options.connectionTimeoutMillis ?? 0;
      const timedOut = timeoutMs > 0 && performance.now() - started >= timeoutMs - TIMER_SLACK_MS;
      const coded = isServerError(error) || typeof (error as { code?: unknown } | null)?.code === 'string';
      if (pool.ending || pool.ended) markPoolEnded(error);
      else if (queued && timedOut && !coded) {
        markPoolWaitTimeout(error, timeoutMs);
        onWait?.(performance.now() - started, true);
      } else markConnectFailure(error, { stage: 'unknown', tls: Boolean(pool.options.ssl), timedOut });
      reject(toCarebaseError(error));
    });
  });
  // pg-pool decides synchronously: queue the caller (pool at max, or an idle client to hand out)
  // or open a new connection for it.
  queued = pool.waitingCount > waitingBefore;
  return pending;
}

/** Releases `client` to its pool, destroying it when its connection was lost or `destroy` is set. */
export function releaseClient(client: pg.PoolClient, destroy = false): void {
  client.release(destroy || isClientLost(client) ? true : undefined);
}
