import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, newPassword, type RunningApp, startApp } from './support.ts';

interface AuditEntry {
  action: string;
  userId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  outcome: string;
}

let database: TestDatabase;
let app: RunningApp;
let admin: Client;
let nurse: Client;
let nurseId: string;

/** What the nurse's browser sends, through a proxy the app trusts (X-Forwarded-For). */
const nurseHeaders = (requestId: string) => ({
  'user-agent': 'NurseStation/2.1',
  'x-forwarded-for': '203.0.113.7',
  'x-request-id': requestId,
});

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { users: { bcryptCost: 10 } } });
  // The proxy in front of the app runs on the same host: trust loopback, as a real deployment
  // would trust its load balancer's address.
  app = await startApp(database.db, { trustProxy: 'loopback' });

  const adminPassword = newPassword();
  await database.db.users.create({
    username: 'root',
    email: 'root@example.org',
    password: adminPassword,
    role: 'admin',
  });
  admin = new Client(app.url);
  await admin.login('root', adminPassword);

  nurse = new Client(app.url);
  const nursePassword = newPassword();
  const registered = await nurse.post('/auth/register', {
    username: 'nina',
    email: 'nina@example.org',
    password: nursePassword,
  });
  nurseId = ((await registered.json()) as { user: { id: string } }).user.id;
  await nurse.login('nina', nursePassword, nurseHeaders('req-nurse-login'));
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe('admin endpoints', () => {
  it('answer 401 without a session and 403 for a nurse', async () => {
    const anonymous = new Client(app.url);
    for (const path of ['/admin/audit', '/admin/analytics']) {
      expect((await anonymous.get(path)).status).toBe(401);
      const forbidden = await nurse.get(path);
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ error: 'forbidden' });
    }
  });

  it('attribute every audited write to the requesting user, IP, user agent and request id', async () => {
    await nurse.post(
      '/chat/messages',
      { content: 'Shift handover notes' },
      { headers: nurseHeaders('req-append') },
    );
    const exported = await nurse.get('/chat/export?format=json', { headers: nurseHeaders('req-export') });
    expect(exported.status).toBe(200);
    await exported.text();
    expect((await nurse.post('/auth/logout', {}, { headers: nurseHeaders('req-logout') })).status).toBe(204);

    const response = await admin.get(`/admin/audit?userId=${nurseId}&limit=50`);
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as { items: AuditEntry[] };
    const byRequest = new Map(items.map((entry) => [`${entry.action} ${entry.requestId}`, entry]));
    const expected = {
      userId: nurseId,
      ip: '203.0.113.7',
      userAgent: 'NurseStation/2.1',
      outcome: 'success',
    };
    expect(byRequest.get('user.login req-nurse-login')).toMatchObject(expected);
    expect(byRequest.get('session.create req-nurse-login')).toMatchObject(expected);
    expect(byRequest.get('chat.export req-export')).toMatchObject(expected);
    expect(byRequest.get('session.revoke req-logout')).toMatchObject(expected);
    // Appends are data, not audit events (audit.chatWrites defaults to conversation-level events):
    // the only entry an append may leave is the creation of the user's default conversation.
    const fromAppend = items.filter((entry) => entry.requestId === 'req-append').map((entry) => entry.action);
    expect(fromAppend.every((action) => action === 'chat.conversation_create')).toBe(true);
  });

  it('drop a forwarded address that is not an IP instead of failing the request', async () => {
    const response = await admin.get('/admin/audit?limit=1', {
      headers: { 'x-forwarded-for': 'not-an-address', 'x-request-id': 'req-garbled-ip' },
    });
    expect(response.status).toBe(200);
    const reads = (await (await admin.get('/admin/audit?action=audit.read&limit=5')).json()) as {
      items: AuditEntry[];
    };
    expect(reads.items.find((entry) => entry.requestId === 'req-garbled-ip')).toMatchObject({ ip: null });
  });

  it('audit the audit read itself', async () => {
    const first = await admin.get('/admin/audit?action=user.login&limit=1', {
      headers: { 'x-request-id': 'req-admin-read' },
    });
    expect(first.status).toBe(200);
    const page = (await first.json()) as { items: AuditEntry[]; nextCursor: string | null };
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull(); // there are older logins

    const reads = (await (await admin.get('/admin/audit?action=audit.read')).json()) as {
      items: AuditEntry[];
    };
    expect(reads.items.map((entry) => entry.requestId)).toContain('req-admin-read');
  });

  it('refuse bad filters with 400', async () => {
    for (const query of ['from=yesterday', 'userId=not-a-uuid', 'limit=100000', 'outcome=maybe']) {
      const response = await admin.get(`/admin/audit?${query}`);
      expect(response.status, query).toBe(400);
    }
    expect(
      (await admin.get('/admin/analytics?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status,
    ).toBe(400);
  });

  it('summarize the analytics recorded by logins and messages', async () => {
    const response = await admin.get('/admin/analytics');
    expect(response.status).toBe(200);
    const summary = (await response.json()) as {
      totalEvents: number;
      uniqueUsers: number;
      byEvent: { eventType: string; eventName: string; count: number }[];
    };
    const count = (name: string) => summary.byEvent.find((event) => event.eventName === name)?.count;
    // This file's database saw: 1 registration, 2 logins (root, nina), 1 message.
    expect(count('register')).toBe(1);
    expect(count('login')).toBe(2);
    expect(count('message_sent')).toBe(1);
    expect(summary.uniqueUsers).toBe(2);
  });
});
