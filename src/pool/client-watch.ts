import type pg from 'pg';
import { markConnectionLoss } from '../errors/map-error.js';

/**
 * Every pg client carebase uses is watched for its whole life: an `error` listener that is never
 * removed (pg-pool removes its own idle listener while a client is checked out, and an `error`
 * event without a listener kills the process), and a record of whether the connection was lost,
 * so that a lost client is destroyed on release instead of going back to the pool.
 */
const watched = new WeakSet<object>();
const lost = new WeakSet<object>();

/** What a watched client reports when its connection fails (no values: a driver error). */
export type ClientErrorListener = (error: Error) => void;

/**
 * Attaches carebase's lifelong listeners to `client` once (later calls do nothing): `error` and
 * `end` mark the connection as lost; `onError` (e.g. a debug log) hears the error.
 */
export function watchClient(client: pg.ClientBase, onError?: ClientErrorListener): void {
  if (watched.has(client)) return;
  watched.add(client);
  client.on('error', (error: Error) => {
    lost.add(client);
    markConnectionLoss(error);
    onError?.(error);
  });
  client.on('end', () => {
    lost.add(client);
  });
}

/** Marks `client`'s connection as lost: it must be destroyed, never reused. */
export function markClientLost(client: pg.ClientBase): void {
  lost.add(client);
}

/**
 * Whether `client`'s connection failed or ended (seen by the watch, or by pg itself: pg-pool reads
 * the same two private flags on release).
 */
export function isClientLost(client: pg.ClientBase): boolean {
  if (lost.has(client)) return true;
  const flags = client as unknown as { _queryable?: boolean; _ending?: boolean };
  return flags._queryable === false || flags._ending === true;
}

/**
 * Resolves with `work`'s result, or with `undefined` as soon as `client`'s connection ends first.
 * For protocol steps that wait for a server answer forever once the socket is gone (closing a
 * pg-cursor waits for a `ReadyForQuery` that a dead connection never sends).
 */
export function unlessLost<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T | undefined> {
  if (isClientLost(client)) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onEnd = (): void => resolve(undefined);
    client.once('end', onEnd);
    work().then(
      (value) => {
        client.off('end', onEnd);
        resolve(value);
      },
      (error: unknown) => {
        client.off('end', onEnd);
        reject(error);
      },
    );
  });
}

/**
 * Settles with `work`'s outcome, or rejects as soon as `client`'s connection fails or ends first.
 * For reads that can otherwise wait forever: pg-cursor ignores a connection error once it has seen
 * the batch's `CommandComplete` (state `done`), so a read whose `ReadyForQuery` never arrives
 * would never settle.
 */
export function failIfLost<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  if (isClientLost(client)) return work();
  return new Promise<T>((resolve, reject) => {
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onEnd = (): void => {
      cleanup();
      const error = new Error('Connection terminated unexpectedly');
      markClientLost(client);
      markConnectionLoss(error);
      reject(error);
    };
    const cleanup = (): void => {
      client.off('error', onError);
      client.off('end', onEnd);
    };
    client.once('error', onError);
    client.once('end', onEnd);
    work().then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}
