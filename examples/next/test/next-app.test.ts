/**
 * The example over real HTTP: `next start` on a production build, against a fresh database from
 * carebase/testing. Builds first unless `.next` holds a build of the same sources.
 */
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../scripts/next-build.ts';
import { type NextServer, startNext } from '../scripts/next-server.ts';

let database: TestDatabase;
let next: NextServer;

beforeAll(async () => {
  const started = Date.now();
  const built = await ensureBuilt();
  console.log(`next build: ${built ? `built in ${Date.now() - started} ms` : 'reused .next'}`);
  database = await createTestDatabase();
  next = await startNext({ env: { DATABASE_URL: database.url, TRUST_PROXY: '1' } });
}, 600_000);

afterAll(async () => {
  await next?.stop();
  expect(next === undefined || next.child.exitCode !== null || next.child.signalCode !== null).toBe(true);
  await database?.drop();
});

const password = (): string => randomBytes(12).toString('base64url');

/** One HTTP call to the app; `cookie` is sent as the session cookie. */
function call(
  path: string,
  init: { method?: string; body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.cookie !== undefined) headers.cookie = `sid=${init.cookie}`;
  let body: string | undefined;
  if (typeof init.body === 'string') body = init.body;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  return fetch(`${next.url}${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    redirect: 'manual',
  });
}

/** The `sid` Set-Cookie header of a response, split into its value and attributes. */
function sessionCookie(response: Response): { value: string; attributes: string[] } | undefined {
  const header = response.headers.getSetCookie().find((line) => line.startsWith('sid='));
  if (header === undefined) return undefined;
  const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
  return { value: pair.slice('sid='.length), attributes: attributes.map((a) => a.toLowerCase()) };
}

describe('examples/next over HTTP', () => {
  const nurse = {
    username: 'nina',
    email: 'nina@example.org',
    password: password(),
    displayName: 'Nina, RN',
  };
  const admin = { username: 'ada', email: 'ada@example.org', password: password(), role: 'admin' as const };
  let nurseId = '';
  let nurseToken = '';
  let adminToken = '';

  it('reports health', async () => {
    const response = await call('/api/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, pendingMigrations: 0 });
  });

  it('registers a nurse, never returning the password hash', async () => {
    const response = await call('/api/register', { body: nurse });
    expect(response.status).toBe(201);
    const { user } = (await response.json()) as { user: Record<string, unknown> };
    expect(user).toMatchObject({ username: 'nina', role: 'nurse', displayName: 'Nina, RN' });
    expect(JSON.stringify(user)).not.toContain(nurse.password);
    nurseId = String(user.id);
    expect(Object.keys(user).filter((key) => /hash/i.test(key))).toEqual([]);
    expect((await database.db.users.getById(nurseId)).username).toBe('nina');
  });

  it('refuses bad registrations with 400 / 403 / 409 and writes nothing', async () => {
    const short = await call('/api/register', {
      body: { username: 'shorty', email: 'shorty@example.org', password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(((await short.json()) as { fields: string[] }).fields).toContain('password');
    expect(await database.db.users.findByUsername('shorty')).toBeUndefined();

    const selfAdmin = await call('/api/register', {
      body: { username: 'mallory', email: 'mallory@example.org', password: password(), role: 'admin' },
    });
    expect(selfAdmin.status).toBe(403);
    expect(await database.db.users.findByUsername('mallory')).toBeUndefined();

    const duplicate = await call('/api/register', {
      body: { ...nurse, username: 'NINA', email: 'n2@example.org' },
    });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toMatchObject({ fields: ['username'] });

    const notJson = await call('/api/register', {
      body: '{"username":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect((await database.db.users.list({})).items.map((user) => user.username)).toEqual(['nina']);
  });

  it('answers a wrong password with 401 and no cookie', async () => {
    const response = await call('/api/login', { body: { login: 'nina', password: password() } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'Invalid username or password' });
    expect(sessionCookie(response)).toBeUndefined();
  });

  it('logs in over http with an HttpOnly, SameSite=Lax cookie that is not Secure', async () => {
    const response = await call('/api/login', { body: { login: 'NINA', password: nurse.password } });
    expect(response.status).toBe(200);
    const cookie = sessionCookie(response);
    expect(cookie?.value).toMatch(/^[\w-]{43}$/);
    expect(cookie?.attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
    expect(cookie?.attributes).not.toContain('secure');
    nurseToken = cookie?.value ?? '';
  });

  it('marks the cookie Secure behind a trusted https proxy and audits the forwarded IP', async () => {
    const response = await call('/api/login', {
      body: { login: 'nina', password: nurse.password },
      headers: {
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '198.51.100.1, 203.0.113.7',
        'x-request-id': 'req-login-https',
        'user-agent': 'vitest-browser',
      },
    });
    expect(response.status).toBe(200);
    expect(sessionCookie(response)?.attributes).toContain('secure');
    const { items } = await database.db.audit.query({ userId: nurseId, action: 'user.login', limit: 10 });
    const entry = items.find((item) => item.requestId === 'req-login-https');
    // TRUST_PROXY=1: the entry the proxy appended, not the one the client wrote.
    expect(entry).toMatchObject({ ip: '203.0.113.7', userAgent: 'vitest-browser', outcome: 'success' });
  });

  it('returns the signed-in user from /api/me, 401 without a valid cookie', async () => {
    const me = await call('/api/me', { cookie: nurseToken });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { id: nurseId, username: 'nina' } });
    expect((await call('/api/me')).status).toBe(401);
    expect((await call('/api/me', { cookie: 'x'.repeat(43) })).status).toBe(401);
  });

  const messages = [
    'How often should a patient be repositioned?',
    'At least every two hours.',
    'Thanks, noted for bed 4.',
  ];

  it('appends messages and pages the history with a cursor', async () => {
    for (const [index, content] of messages.entries()) {
      const role = index === 1 ? 'assistant' : 'user';
      const response = await call('/api/chat', { body: { role, content }, cookie: nurseToken });
      expect(response.status).toBe(201);
      expect(await response.json()).toMatchObject({ message: { userId: nurseId, role, content } });
    }
    const first = await call('/api/chat?limit=2', { cookie: nurseToken });
    expect(first.status).toBe(200);
    const page1 = (await first.json()) as { items: { content: string }[]; nextCursor: string | null };
    expect(page1.items.map((message) => message.content)).toEqual(messages.slice(0, 2));
    expect(page1.nextCursor).toEqual(expect.any(String));
    const second = await call(`/api/chat?limit=2&cursor=${encodeURIComponent(page1.nextCursor ?? '')}`, {
      cookie: nurseToken,
    });
    const page2 = (await second.json()) as { items: { content: string }[]; nextCursor: string | null };
    expect(page2.items.map((message) => message.content)).toEqual(messages.slice(2));
    expect(page2.nextCursor).toBeNull();
    expect((await call('/api/chat?cursor=forged', { cookie: nurseToken })).status).toBe(400);
  });

  it('searches the user’s messages', async () => {
    const response = await call('/api/chat/search?q=repositioned', { cookie: nurseToken });
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as { items: { message: { content: string } }[] };
    expect(items.map((hit) => hit.message.content)).toEqual([messages[0]]);
  });

  it('answers bad chat input with 400 and writes nothing', async () => {
    const bad: unknown[] = [
      { content: 'nul \u0000 byte' },
      { content: 'x'.repeat(100_001) },
      { role: 'doctor', content: 'unknown role' },
      { content: 42 },
      {},
      { content: 'ok', userId: '00000000-0000-4000-8000-000000000000' },
    ];
    for (const body of bad) {
      const response = await call('/api/chat', { body, cookie: nurseToken });
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      const text = await response.text();
      expect(text).not.toContain('nul');
      expect(text).not.toContain('unknown role');
    }
    const notJson = await call('/api/chat', {
      body: 'not json',
      headers: { 'content-type': 'application/json' },
      cookie: nurseToken,
    });
    expect(notJson.status).toBe(400);
    expect((await call('/api/chat', { body: { content: 'anonymous' } })).status).toBe(401);
    const stored = await database.db.chat.history({ userId: nurseId, limit: 50 });
    expect(stored.items.map((message) => message.content)).toEqual(messages);
  });

  it('renders the signed-in user’s history on the server', async () => {
    const page = await call('/history', { cookie: nurseToken });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Chat history of <!-- -->Nina, RN');
    for (const content of messages) expect(html).toContain(content);
    const anonymous = await call('/history');
    expect(anonymous.status).toBe(307);
    expect(anonymous.headers.get('location')).toBe('/');
  });

  it('serves the analytics summary to admins only', async () => {
    expect((await call('/api/admin/analytics', { cookie: nurseToken })).status).toBe(403);
    expect((await call('/api/admin/analytics')).status).toBe(401);

    await database.db.users.create(admin);
    const login = await call('/api/login', { body: { login: admin.username, password: admin.password } });
    adminToken = sessionCookie(login)?.value ?? '';
    const response = await call('/api/admin/analytics?days=1', { cookie: adminToken });
    expect(response.status).toBe(200);
    const summary = (await response.json()) as {
      totalEvents: number;
      uniqueUsers: number;
      byEvent: { eventType: string; eventName: string; count: number }[];
    };
    // Three logins (two by the nurse, one by the admin) and the nurse's three messages.
    expect(summary.totalEvents).toBe(6);
    expect(summary.uniqueUsers).toBe(2);
    expect(summary.byEvent).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ eventType: 'auth', eventName: 'login', count: 3 }),
        expect.objectContaining({ eventType: 'chat', eventName: 'message_sent', count: 3 }),
      ]),
    );
  });

  it('lets an admin register a user with another role', async () => {
    const response = await call('/api/register', {
      body: { username: 'cleo', email: 'cleo@example.org', password: password(), role: 'clinician' },
      cookie: adminToken,
    });
    expect(response.status).toBe(201);
    expect((await database.db.users.findByUsername('cleo'))?.role).toBe('clinician');
  });

  it('logs in and posts through the HTML forms', async () => {
    const form = new URLSearchParams({ login: 'nina', password: nurse.password });
    const login = await call('/api/login', {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/history');
    const token = sessionCookie(login)?.value ?? '';
    const wrong = await call('/api/login', {
      body: new URLSearchParams({ login: 'nina', password: 'wrong-password' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(wrong.headers.get('location')).toBe('/?error=login');
    const post = await call('/api/chat', {
      body: new URLSearchParams({ content: 'Sent from the form' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      cookie: token,
    });
    expect(post.status).toBe(303);
    expect(await (await call('/history', { cookie: token })).text()).toContain('Sent from the form');
  });

  it('logs out: the session is revoked and the cookie no longer works', async () => {
    const response = await call('/api/logout', { method: 'POST', cookie: nurseToken });
    expect(response.status).toBe(204);
    const cleared = sessionCookie(response);
    expect(cleared?.value).toBe('');
    expect((await call('/api/me', { cookie: nurseToken })).status).toBe(401);
    expect((await call('/api/chat', { cookie: nurseToken })).status).toBe(401);
    const { items } = await database.db.sessions.listForUser(nurseId, { includeEnded: true });
    expect(items.filter((session) => session.revokeReason === 'logout')).toHaveLength(1);
  });
});
