import { connect } from 'node:net';
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
export function carebaseClientClass(
  logger?: Logger,
  options: { readonly preferTls?: boolean } = {},
): typeof pg.Client {
  // sslmode=prefer: whether the server offers TLS, asked once per class (so once per pool).
  let offersTls: Promise<boolean | undefined> | undefined;
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
      const connection = this.connection as unknown as NodeJS.EventEmitter;
      connection.once('connect', () => {
        // Read now: sslmode=prefer may have turned TLS off after construction.
        this.#stage = (this as unknown as { ssl?: unknown }).ssl ? 'tls' : 'startup';
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
      if (options.preferTls === true && (this as unknown as { ssl?: unknown }).ssl) {
        const self = this as unknown as { host: string; port: number };
        offersTls ??= serverOffersTls(self.host, self.port).then((offered) => {
          // Only a definite answer is kept: an unreachable server is asked again next time.
          if (offered === undefined) offersTls = undefined;
          if (offered === false) {
            logger?.warn(
              { host: self.host, port: self.port },
              'carebase: sslmode=prefer and the server offers no TLS: connecting in plain text',
            );
          }
          return offered;
        });
        const asked = offersTls;
        const connecting = asked.then((offered) => {
          if (offered === false) this.#withoutTls();
          return this.#connect();
        });
        if (callback === undefined) return connecting;
        connecting.then(
          () => callback(undefined as unknown as Error),
          (error: Error) => callback(error),
        );
        return undefined;
      }
      if (callback !== undefined) {
        this.#connect().then(
          () => callback(undefined as unknown as Error),
          (error: Error) => callback(error),
        );
        return undefined;
      }
      return this.#connect();
    }

    #withoutTls(): void {
      (this as unknown as { ssl: unknown }).ssl = false;
      (this.connection as unknown as { ssl: unknown }).ssl = false;
    }

    #connect(): Promise<pg.Client> {
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
      return super.connect().catch((error: unknown) => {
        mark(error);
        throw error;
      });
    }
  };
}

/** PostgreSQL's SSLRequest message: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Whether the server at `host`:`port` answers an SSLRequest with `S` (libpq's `prefer` asks the
 * same way): true or false, or undefined when it could not be asked (unreachable, no answer), so
 * the real connection attempt, with TLS, reports why. A Unix socket never uses TLS.
 */
function serverOffersTls(host: string, port: number): Promise<boolean | undefined> {
  if (host.startsWith('/')) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (offered: boolean | undefined): void => {
      socket.destroy();
      resolve(offered);
    };
    socket.setTimeout(10_000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (data: Buffer) =>
      done(data[0] === 0x53 ? true : data[0] === 0x4e ? false : undefined),
    ); // 'S' / 'N'
  });
}
