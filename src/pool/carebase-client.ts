import pg from 'pg';
import { type ConnectStage, DriverErrorSummary, markConnectFailure } from '../errors/map-error.js';
import type { Logger } from '../logging/logger.js';
import { watchClient } from './client-watch.js';

/** Timers may fire up to a millisecond early by a high-resolution clock; a little slack. */
const TIMER_SLACK_MS = 5;

/**
 * A `pg.Client` class for carebase's pools and dedicated connections. Each instance is watched
 * from construction, so an `error` event is always heard, whatever the client is doing (opening,
 * idle in the pool, checked out, streaming), and a failed connection attempt is marked with how
 * far it got (socket, TLS, startup, authentication) so that the error mapper can name the reason
 * (`unreachable`, `server_without_tls`, `auth_failed`, ...) without reading the driver's messages.
 *
 * `logger` (when given) hears connection errors at debug level, as value-free summaries.
 */
export function carebaseClientClass(logger?: Logger): typeof pg.Client {
  return class CarebaseClient extends pg.Client {
    #stage: ConnectStage = 'socket';

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      watchClient(this, (error) => {
        logger?.debug(
          { err: new DriverErrorSummary(error as DriverErrorSummary) },
          'carebase: a database connection failed',
        );
      });
      const tls = Boolean((this as unknown as { ssl?: unknown }).ssl);
      const connection = this.connection as unknown as NodeJS.EventEmitter;
      connection.once('connect', () => {
        this.#stage = tls ? 'tls' : 'startup';
      });
      connection.once('sslconnect', () => {
        this.#stage = 'startup';
      });
      const authenticating = (): void => {
        this.#stage = 'auth';
      };
      for (const event of [
        'authenticationCleartextPassword',
        'authenticationMD5Password',
        'authenticationSASL',
      ]) {
        connection.once(event, authenticating);
      }
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error) => void): void;
    override connect(callback?: (err: Error) => void): Promise<pg.Client> | undefined {
      const started = performance.now();
      const timeoutMs =
        (this as unknown as { _connectionTimeoutMillis?: number })._connectionTimeoutMillis ?? 0;
      const mark = (error: unknown): void => {
        markConnectFailure(error, {
          stage: this.#stage,
          tls: Boolean((this as unknown as { ssl?: unknown }).ssl),
          timedOut: timeoutMs > 0 && performance.now() - started >= timeoutMs - TIMER_SLACK_MS,
        });
      };
      if (callback !== undefined) {
        super.connect((error: Error) => {
          if (error) mark(error);
          callback(error);
        });
        return undefined;
      }
      return super.connect().catch((error: unknown) => {
        mark(error);
        throw error;
      });
    }
  };
}
