import { createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Client,
  countRows,
  newPassword,
  type RunningApp,
  sessionCookieAttributes,
  startApp,
} from './support.ts';

let database: TestDatabase;
let app: RunningApp;
let proxied: RunningApp; // the same API behind a trusted proxy (`trust proxy` = loopback)

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { users: { bcryptCost: 10 } } });
  app = await startApp(database.db);
  proxied = await startApp(database.db, { trustProxy: 'loopback' });
});

afterAll(async () => {
  await app?.close();
  await proxied?.close();
  await database?.drop();
});

async function register(client: Client, username: string, password = newPassword()) {
  const response = await client.post('/auth/register', {
    username,
    email: `${username}@example.org`,
    password,
  });
  expect(response.status).toBe(201);
  return { password, body: (await response.json()) as { user: { id: string; role: string } } };
}

describe('register', () => {
  it('creates an account with the registration role, whatever role the body asks for', async () => {
    const client = new Client(app.url);
    const response = await client.post('/auth/register', {
      username: 'ana',
      email: 'ana@example.org',
      password: newPassword(),
      role: 'admin',
    });
    expect(response.status).toBe(201);
    const { user } = (await response.json()) as { user: Record<string, unknown> };
    expect(user).toMatchObject({ username: 'ana', role: 'nurse' });
    expect(Object.keys(user).sort()).toEqual(['displayName', 'email', 'id', 'role', 'username']);
  });

  it('answers 409 naming the field for a taken username or email (case-insensitively)', async () => {
    const client = new Client(app.url);
    await register(client, 'bea');
    const sameName = await client.post('/auth/register', {
      username: 'BEA',
      email: 'other@example.org',
      password: newPassword(),
    });
    expect(sameName.status).toBe(409);
    expect(await sameName.json()).toMatchObject({ error: 'conflict', field: 'username' });
    const sameEmail = await client.post('/auth/register', {
      username: 'bea2',
      email: 'BEA@example.org',
      password: newPassword(),
    });
    expect(sameEmail.status).toBe(409);
    expect(await sameEmail.json()).toMatchObject({ error: 'conflict', field: 'email' });
  });

  it('answers 400 with the field issues, never the values, and writes nothing', async () => {
    const client = new Client(app.url);
    const before = {
      users: await countRows(database.db, 'users'),
      audit: await countRows(database.db, 'audit_log'),
    };
    const secret = `short-${'x'.repeat(80)}`; // over bcrypt's 72 bytes
    const response = await client.post('/auth/register', {
      username: 'has space',
      email: 'nope',
      password: secret,
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).not.toContain(secret);
    expect(text).not.toContain('has space');
    const body = JSON.parse(text) as { error: string; issues: { path: string }[]; requestId: string };
    expect(body.error).toBe('validation_failed');
    expect(body.issues.map((issue) => issue.path)).toContain('username');
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
    expect(await countRows(database.db, 'users')).toBe(before.users);
    expect(await countRows(database.db, 'audit_log')).toBe(before.audit);
  });

  it('refuses a mutating request that is not JSON (CSRF stance): 415, nothing written', async () => {
    const before = await countRows(database.db, 'users');
    const response = await fetch(`${app.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=eve&email=eve%40example.org&password=long-enough-password',
    });
    expect(response.status).toBe(415);
    expect(await countRows(database.db, 'users')).toBe(before);
  });

  it('answers 400 for malformed JSON', async () => {
    const response = await fetch(`${app.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"login": "ana", "password": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_json' });
  });
});

describe('login', () => {
  it('sets an HttpOnly, SameSite=Lax session cookie, without Secure over plain http', async () => {
    const client = new Client(app.url);
    const { password } = await register(client, 'cal');
    const response = await client.post('/auth/login', { login: 'CAL', password });
    expect(response.status).toBe(200);
    const attributes = sessionCookieAttributes(response);
    expect(attributes.has('httponly')).toBe(true);
    expect(attributes.get('samesite')).toBe('Lax');
    expect(attributes.get('path')).toBe('/');
    expect(attributes.has('secure')).toBe(false);
    expect(Number(attributes.get('max-age'))).toBeGreaterThan(0);
    // The token travels only in the cookie.
    expect(client.cookie).toMatch(/^[\w-]{43}$/);
    expect(await response.text()).not.toContain(client.cookie);
    expect((await client.get('/auth/me')).status).toBe(200);
  });

  it('marks the cookie Secure when a trusted proxy says the request came over HTTPS', async () => {
    const client = new Client(proxied.url);
    const { password } = await register(client, 'dan');
    const https = { 'x-forwarded-proto': 'https' };
    const response = await client.post('/auth/login', { login: 'dan', password }, { headers: https });
    expect(response.status).toBe(200);
    expect(sessionCookieAttributes(response).has('secure')).toBe(true);
    // Without `trust proxy`, the same header is anyone's to forge and is ignored.
    const direct = await new Client(app.url).post(
      '/auth/login',
      { login: 'dan', password },
      { headers: https },
    );
    expect(sessionCookieAttributes(direct).has('secure')).toBe(false);
  });

  it('gives a wrong password and an unknown user the same 401 body', async () => {
    const client = new Client(app.url);
    await register(client, 'eli');
    const wrong = await client.post('/auth/login', { login: 'eli', password: newPassword() });
    const unknown = await client.post('/auth/login', { login: 'nobody-here', password: newPassword() });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = async (response: Response) => {
      const { requestId: _requestId, ...rest } = (await response.json()) as Record<string, unknown>;
      return rest;
    };
    expect(await strip(wrong)).toEqual(await strip(unknown));
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it('answers 429 with Retry-After once the account is locked, even for the right password', async () => {
    const client = new Client(app.url);
    const { password } = await register(client, 'fay');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      statuses.push((await client.post('/auth/login', { login: 'fay', password: newPassword() })).status);
    }
    // carebase locks on the 5th consecutive failure (users.lockout.maxFailures).
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const right = await client.post('/auth/login', { login: 'fay', password });
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toBe('900');
    expect(client.cookie).toBeUndefined();
  });
});

describe('logout', () => {
  it('revokes the session and clears the cookie; the old cookie then gets 401', async () => {
    const client = new Client(app.url);
    const { password, body } = await register(client, 'gus');
    await client.login('gus', password);
    const oldCookie = client.cookie;
    const response = await client.post('/auth/logout');
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()[0]).toMatch(/^sid=;.*Expires=Thu, 01 Jan 1970/);
    expect(client.cookie).toBeUndefined();

    client.cookie = oldCookie; // a copy kept by an attacker, or a stale tab
    expect((await client.get('/auth/me')).status).toBe(401);
    expect((await client.get('/chat/messages')).status).toBe(401);
    const sessions = await database.db.sessions.listForUser(body.user.id, { includeEnded: true });
    expect(sessions.items.map((session) => session.revokeReason)).toEqual(['logout']);
  });

  it('revokes the previous session when the same browser logs in again', async () => {
    const client = new Client(app.url);
    const { password } = await register(client, 'hal');
    await client.login('hal', password);
    const first = client.cookie;
    await client.login('hal', password);
    expect(client.cookie).not.toBe(first);
    expect((await client.get('/auth/me')).status).toBe(200);
    client.cookie = first;
    expect((await client.get('/auth/me')).status).toBe(401);
  });

  it('answers 401 without a session', async () => {
    const response = await new Client(app.url).post('/auth/logout');
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
  });
});

describe('request ids and errors', () => {
  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const client = new Client(app.url);
    const kept = await client.get('/health', { headers: { 'x-request-id': 'trace-42.a:b' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-42.a:b');
    const replaced = await client.get('/health', { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers anything unexpected with a bare 500 and the request id, and logs no secrets', async () => {
    const closed = createCarebase({ connectionString: database.url });
    await closed.close(); // every call now fails with ClosedError: an outage, as the app sees it
    const lines: string[] = [];
    const broken = await startApp(closed, { log: (line) => lines.push(line) });
    try {
      const password = newPassword();
      const response = await new Client(broken.url).post(
        '/auth/login',
        { login: 'ana', password },
        { headers: { 'x-request-id': 'outage-1' } },
      );
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'internal_error', requestId: 'outage-1' });
      expect(lines.join('\n')).toContain('[outage-1]');
      expect(lines.join('\n')).toContain('CLOSED');
      expect(lines.join('\n')).not.toContain(password);
    } finally {
      await broken.close();
    }
  });

  it('reports health', async () => {
    const response = await fetch(`${app.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, pendingMigrations: 0 });
  });
});
