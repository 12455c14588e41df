import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Carebase } from 'carebase';
import { type AppOptions, createApp } from '../src/app.ts';

/** The app on a free port of 127.0.0.1, over real HTTP. */
export interface RunningApp {
  readonly url: string;
  close(): Promise<void>;
}

export async function startApp(cb: Carebase, options: AppOptions = {}): Promise<RunningApp> {
  const server = createApp(cb, options).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export interface SendOptions {
  /** Sent as JSON with `Content-Type: application/json`. */
  readonly json?: unknown;
  readonly headers?: Record<string, string>;
}

/**
 * A browser-like client: global `fetch` plus a one-cookie jar for the session cookie, so tests
 * see exactly what a browser would store and send.
 */
export class Client {
  readonly #base: string;
  /** The `sid` cookie value, as the last response left it. */
  cookie: string | undefined;

  constructor(base: string) {
    this.#base = base;
  }

  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const headers = new Headers(options.headers);
    if (this.cookie !== undefined) headers.set('cookie', `sid=${this.cookie}`);
    let body: string | undefined;
    if (options.json !== undefined) {
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      body = JSON.stringify(options.json);
    }
    const response = await fetch(`${this.#base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      if (pair.slice(0, at) !== 'sid') continue;
      const value = pair.slice(at + 1);
      this.cookie = value === '' ? undefined : value;
    }
    return response;
  }

  get(path: string, options?: SendOptions): Promise<Response> {
    return this.send('GET', path, options);
  }

  post(path: string, json: unknown = {}, options: Omit<SendOptions, 'json'> = {}): Promise<Response> {
    return this.send('POST', path, { ...options, json });
  }

  /** Logs in and fails the test unless it worked. */
  async login(login: string, password: string, headers?: Record<string, string>): Promise<void> {
    const response = await this.post(
      '/auth/login',
      { login, password },
      headers === undefined ? {} : { headers },
    );
    if (response.status !== 200) throw new Error(`login as ${login} answered ${response.status}`);
  }
}

/** `Set-Cookie` attributes of the session cookie, lower-cased names. */
export function sessionCookieAttributes(response: Response): Map<string, string> {
  const line = response.headers.getSetCookie().find((value) => value.startsWith('sid='));
  if (line === undefined) throw new Error('no session cookie set');
  const attributes = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [name = '', value = ''] = part.trim().split('=');
    attributes.set(name.toLowerCase(), value);
  }
  return attributes;
}

/** Rows in a carebase table, counted through the `cb.db` escape hatch. */
export async function countRows(
  cb: Carebase,
  table: 'users' | 'sessions' | 'chat_messages' | 'audit_log',
): Promise<number> {
  const row = await cb.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A password nobody hard-coded. */
export function newPassword(): string {
  return `pw-${crypto.randomUUID()}`;
}
