/** Starts the chat app on a fresh test database and talks to it over real HTTP. */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Carebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { CHAT_APP_ANALYTICS, CHAT_APP_USERS, type ChatAppOptions, createChatApp } from '../src/app.ts';

/** A running app, its database, and a way to stop both. */
export interface Harness {
  readonly db: TestDatabase;
  readonly cb: Carebase;
  readonly url: string;
  /** Lines the app logged (unexpected errors). */
  readonly logged: string[];
  /** Creates an active user with a generated password. */
  user(role?: string): Promise<{ id: string; username: string; password: string }>;
  close(): Promise<void>;
}

export async function startApp(options: ChatAppOptions = {}): Promise<Harness> {
  const db = await createTestDatabase({
    carebase: { users: { ...CHAT_APP_USERS, bcryptCost: 10 }, analytics: CHAT_APP_ANALYTICS },
  });
  const logged: string[] = [];
  const server: Server = createChatApp(db.db, { log: (line) => logged.push(line), ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let users = 0;
  return {
    db,
    cb: db.db,
    url: `http://127.0.0.1:${port}`,
    logged,
    async user(role = 'nurse') {
      users += 1;
      const username = `${role}-${users}-${randomBytes(3).toString('hex')}`;
      const password = randomBytes(12).toString('base64url');
      const user = await db.db.users.create({ username, email: `${username}@example.org`, password, role });
      return { id: user.id, username, password };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.drop();
    },
  };
}

/** A `fetch` that sends JSON bodies and keeps the session cookie, like a browser would. */
export class Client {
  readonly #base: string;
  cookie: string | undefined;

  constructor(base: string) {
    this.#base = base;
  }

  async request(
    path: string,
    init: { method?: string; json?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookie !== undefined) headers.cookie = this.cookie;
    if (init.json !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${this.#base}${path}`, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers,
      ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie !== null) {
      const pair = setCookie.split(';')[0] ?? '';
      this.cookie = pair.endsWith('=') ? undefined : pair;
    }
    return response;
  }

  async login(username: string, password: string): Promise<Response> {
    return this.request('/api/login', { json: { username, password } });
  }
}
