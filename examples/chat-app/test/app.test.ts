/** The chat app's HTTP API against a real PostgreSQL: every answer read back from the database. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Harness, startApp } from './harness.ts';

let app: Harness;
let nurse: { id: string; username: string; password: string };
let admin: { id: string; username: string; password: string };

beforeAll(async () => {
  app = await startApp({ pageSize: 30 });
  nurse = await app.user('nurse');
  admin = await app.user('admin');
});

afterAll(async () => {
  await app?.close();
});

async function signedIn(user: { username: string; password: string }): Promise<Client> {
  const client = new Client(app.url);
  const response = await client.login(user.username, user.password);
  expect(response.status).toBe(200);
  return client;
}

async function counts(): Promise<{ messages: number; events: number }> {
  const messages = await app.cb.db
    .selectFrom('chat_messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  const events = await app.cb.db
    .selectFrom('analytics_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return { messages: Number(messages.n), events: Number(events.n) };
}

describe('pages', () => {
  it('serves the page, its script and stylesheet with a strict content security policy', async () => {
    const client = new Client(app.url);
    const page = await client.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    expect((await client.request('/app.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await client.request('/styles.css')).status).toBe(200);
    expect((await client.request('/nope')).status).toBe(404);
    expect((await client.request('/api/me', { method: 'DELETE' })).status).toBe(405);
  });
});

describe('login and logout', () => {
  it('refuses unknown users and wrong passwords with the same answer', async () => {
    const client = new Client(app.url);
    const wrong = await client.login(nurse.username, `${nurse.password}x`);
    const unknown = await client.login('nobody-here', nurse.password);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(client.cookie).toBeUndefined();
  });

  it('sets an HttpOnly, SameSite=Lax session cookie that identifies the user', async () => {
    const client = new Client(app.url);
    expect((await client.request('/api/me')).status).toBe(401);
    const response = await client.login(nurse.username.toUpperCase(), nurse.password);
    expect(response.status).toBe(200);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^sid=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    const me = await client.request('/api/me');
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: unknown }).user).toMatchObject({
      id: nurse.id,
      username: nurse.username,
      role: 'nurse',
    });
  });

  it('audits the login with the request id, IP and user agent of the request', async () => {
    const client = new Client(app.url);
    const response = await client.login(nurse.username, nurse.password);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const { items } = await app.cb.audit.query({ action: 'session.create', userId: nurse.id, limit: 10 });
    const entry = items.find((item) => item.requestId === requestId);
    expect(entry).toMatchObject({ actorUserId: nurse.id, ip: '127.0.0.1' });
    expect(entry?.userAgent).toBeTruthy();
  });

  it('logout revokes the session: the old cookie no longer works', async () => {
    const client = await signedIn(nurse);
    const oldCookie = client.cookie;
    const response = await client.request('/api/logout', { json: {} });
    expect(response.status).toBe(204);
    expect(response.headers.get('set-cookie')).toMatch(/^sid=; .*Max-Age=0/);
    const replay = new Client(app.url);
    replay.cookie = oldCookie;
    expect((await replay.request('/api/me')).status).toBe(401);
    const { items } = await app.cb.audit.query({ action: 'session.revoke', userId: nurse.id, limit: 5 });
    expect(items.length).toBeGreaterThan(0);
  });

  it('rejects a login without a password before checking anything', async () => {
    const client = new Client(app.url);
    const response = await client.request('/api/login', { json: { username: nurse.username } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'validation', field: 'password' });
  });
});

describe('chat history', () => {
  it('pages the history newest first with the cursor, each message exactly once', async () => {
    const reader = await app.user('nurse');
    await app.cb.chat.appendMany(
      Array.from({ length: 75 }, (_, i) => ({
        userId: reader.id,
        role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: `note ${String(i).padStart(3, '0')}`,
      })),
    );
    const client = await signedIn(reader);
    const pages: { content: string }[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`;
      const response = await client.request(`/api/messages${query}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as { items: { content: string }[]; nextCursor: string | null };
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(pages.map((page) => page.length)).toEqual([30, 30, 15]);
    const contents = pages.flat().map((message) => message.content);
    expect(contents).toEqual(Array.from({ length: 75 }, (_, i) => `note ${String(74 - i).padStart(3, '0')}`));
  });

  it('answers a bad cursor or limit with 400', async () => {
    const client = await signedIn(nurse);
    const forged = await client.request('/api/messages?cursor=not-a-cursor');
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: 'validation', field: 'cursor' });
    expect((await client.request('/api/messages?limit=0')).status).toBe(400);
    expect((await client.request('/api/messages?limit=abc')).status).toBe(400);
  });

  it('needs a session', async () => {
    expect((await new Client(app.url).request('/api/messages')).status).toBe(401);
  });
});

describe('sending a message', () => {
  it('stores the question and a rule-based answer, and counts the message in analytics', async () => {
    const writer = await app.user('nurse');
    const client = await signedIn(writer);
    const response = await client.request('/api/messages', {
      json: { content: 'How often should I reposition Mr Smith?' },
    });
    expect(response.status).toBe(201);
    const { messages } = (await response.json()) as {
      messages: { id: string; role: string; content: string }[];
    };
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(messages[1]?.content).toMatch(/Pressure-injury prevention/);

    const stored = await app.cb.chat.history({ userId: writer.id, order: 'desc', limit: 10 });
    expect(stored.items.map((message) => message.id)).toEqual([messages[1]?.id, messages[0]?.id]);
    expect(stored.items[0]?.metadata).toEqual({ rule: 'pressure-injury' });

    const falls = await client.request('/api/messages', { json: { content: 'She fell out of bed' } });
    expect(((await falls.json()) as { messages: { content: string }[] }).messages[1]?.content).toMatch(
      /^Falls risk/,
    );
    const other = await client.request('/api/messages', { json: { content: 'What is the wifi password?' } });
    expect(((await other.json()) as { messages: { content: string }[] }).messages[1]?.content).toMatch(
      /^Thank you for your question/,
    );

    const to = new Date(Date.now() + 60_000);
    const summary = await app.cb.analytics.summary({
      from: new Date(to.getTime() - 3_600_000),
      to,
      userId: writer.id,
    });
    const sent = summary.byEvent.find((event) => event.eventName === 'chat.message_sent');
    expect(sent?.count).toBe(3);
  });

  it('answers bad input with 400 (or 413/415) and writes nothing', async () => {
    const client = await signedIn(nurse);
    const before = await counts();
    const cases: { init: Parameters<Client['request']>[1]; status: number; field?: string }[] = [
      { init: { json: {} }, status: 400, field: 'content' },
      { init: { json: { content: '   ' } }, status: 400, field: 'content' },
      { init: { json: { content: 42 } }, status: 400, field: 'content' },
      { init: { json: { content: 'Mrs Jones \u0000 byte' } }, status: 400, field: 'content' },
      { init: { json: { content: 'Mrs Jones \uD800 surrogate' } }, status: 400, field: 'content' },
      { init: { json: { content: `Mrs Jones ${'é'.repeat(60_000)}` } }, status: 400, field: 'content' }, // 120 kB
      { init: { json: { content: 'x'.repeat(100_001) } }, status: 400, field: 'content' },
      { init: { json: { content: 'x'.repeat(300_000) } }, status: 413 },
      { init: { json: ['not', 'an', 'object'] }, status: 400 },
      {
        init: { method: 'POST', headers: { 'content-type': 'application/json' }, json: undefined },
        status: 400,
      },
      { init: { json: { content: 'hi' }, headers: { 'content-type': 'text/plain' } }, status: 415 },
      { init: { json: { content: 'hi' }, headers: { origin: 'http://evil.example' } }, status: 403 },
    ];
    for (const { init, status, field } of cases) {
      const response = await client.request('/api/messages', init);
      expect(response.status, JSON.stringify(init).slice(0, 80)).toBe(status);
      const body = (await response.json()) as { field: string | null; message: string };
      if (field !== undefined) expect(body.field).toBe(field);
      expect(JSON.stringify(body)).not.toMatch(/Jones|xxxx|éé/);
    }
    expect(await counts()).toEqual(before);
    expect(app.logged).toEqual([]);
  });
});

describe('search', () => {
  it('finds the user’s own messages with highlighted hits, and only theirs', async () => {
    const alice = await app.user('nurse');
    const bob = await app.user('nurse');
    await app.cb.chat.append({ userId: alice.id, role: 'user', content: 'Heel offloading boots for bed 7' });
    await app.cb.chat.append({ userId: alice.id, role: 'user', content: 'Unrelated note about handover' });
    const client = await signedIn(alice);
    const response = await client.request(`/api/search?q=${encodeURIComponent('offloading')}`);
    expect(response.status).toBe(200);
    const { items } = (await response.json()) as {
      items: { content: string; snippet: { text: string; hit: boolean }[] }[];
    };
    expect(items.map((item) => item.content)).toEqual(['Heel offloading boots for bed 7']);
    expect(items[0]?.snippet.filter((part) => part.hit).map((part) => part.text)).toEqual(['offloading']);
    expect('Heel offloading boots for bed 7').toContain(items[0]?.snippet.map((part) => part.text).join(''));

    const other = await signedIn(bob);
    const none = await other.request('/api/search?q=offloading');
    expect(((await none.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await other.request('/api/search?q=')).status).toBe(400);
  });
});

describe('export', () => {
  it('downloads the user’s chat as JSON lines and audits it with the request id', async () => {
    const owner = await app.user('nurse');
    await app.cb.chat.appendMany([
      { userId: owner.id, role: 'user', content: 'first, with "quotes"' },
      { userId: owner.id, role: 'assistant', content: 'second\nline' },
    ]);
    const client = await signedIn(owner);
    const response = await client.request('/api/export?format=jsonl');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="chat-${owner.username}.jsonl"`,
    );
    const lines = (await response.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ format: 'carebase.chat-export', version: 1, userId: owner.id });
    expect(lines.slice(1).map((line) => line.content)).toEqual(['first, with "quotes"', 'second\nline']);

    const { items } = await app.cb.audit.query({ action: 'chat.export', userId: owner.id });
    expect(items.map((entry) => entry.requestId)).toEqual([response.headers.get('x-request-id')]);

    const csv = await client.request('/api/export?format=csv');
    expect((await csv.text()).split('\r\n')[0]).toBe(
      'format_version,conversation_id,id,client_id,created_at,role,content,metadata,parts',
    );
    expect((await client.request('/api/export?format=xml')).status).toBe(400);
  });
});

describe('admin', () => {
  it('refuses non-admins with 403 and anonymous callers with 401', async () => {
    const client = await signedIn(nurse);
    expect((await client.request('/api/admin/summary')).status).toBe(403);
    expect((await client.request('/api/admin/audit')).status).toBe(403);
    expect((await new Client(app.url).request('/api/admin/summary')).status).toBe(401);
  });

  it('shows the analytics summary and pages the audit trail, newest first', async () => {
    const client = await signedIn(admin);
    const summary = await client.request('/api/admin/summary?days=7');
    expect(summary.status).toBe(200);
    const body = (await summary.json()) as {
      totalEvents: number;
      byEvent: { eventName: string; count: number }[];
    };
    const logins = body.byEvent.find((event) => event.eventName === 'auth.login');
    expect(logins?.count).toBeGreaterThanOrEqual(5);
    expect(body.byEvent.map((event) => event.eventName)).toContain('auth.login_failed');
    expect(body.totalEvents).toBe(body.byEvent.reduce((sum, event) => sum + event.count, 0));
    expect((await client.request('/api/admin/summary?days=0')).status).toBe(400);

    const first = (await (await client.request('/api/admin/audit')).json()) as {
      items: { id: string; action: string; actor: string }[];
      nextCursor: string | null;
    };
    expect(first.items).toHaveLength(25);
    expect(first.nextCursor).not.toBeNull();
    const second = (await (
      await client.request(`/api/admin/audit?cursor=${encodeURIComponent(first.nextCursor ?? '')}`)
    ).json()) as { items: { id: string }[] };
    const firstIds = first.items.map((item) => BigInt(item.id));
    const secondIds = second.items.map((item) => BigInt(item.id));
    expect(secondIds.length).toBeGreaterThan(0);
    expect(secondIds.every((id) => firstIds.every((newer) => id < newer))).toBe(true);
    // The admin's own login is on the first page, with a username instead of an id.
    expect(first.items).toContainEqual(
      expect.objectContaining({ action: 'user.login', actor: admin.username }),
    );
    expect((await client.request('/api/admin/audit?cursor=bad')).status).toBe(400);
  });
});

interface ConversationBody {
  id: string;
  title: string | null;
  version: number;
  archived: boolean;
  role: string;
  sharedBy: string | null;
}

async function conversationList(client: Client, archived = 'exclude'): Promise<ConversationBody[]> {
  const response = await client.request(`/api/conversations?archived=${archived}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: ConversationBody[] }).items;
}

describe('conversation sidebar', () => {
  it('creates, renames (with the version), archives and restores a conversation', async () => {
    const owner = await app.user('nurse');
    const client = await signedIn(owner);
    const created = await client.request('/api/conversations', { json: { title: 'Night shift' } });
    expect(created.status).toBe(201);
    const { conversation } = (await created.json()) as { conversation: ConversationBody };
    expect(conversation).toMatchObject({
      title: 'Night shift',
      role: 'owner',
      archived: false,
      sharedBy: null,
    });
    expect((await conversationList(client)).map((c) => c.title)).toEqual(['Night shift']);

    // Messages sent to it land in it, not in the default conversation.
    const sent = await client.request('/api/messages', {
      json: { content: 'Turning schedule for bed 4?', conversationId: conversation.id },
    });
    expect(sent.status).toBe(201);
    const stored = await app.cb.chat.history({ userId: owner.id, conversationId: conversation.id });
    expect(stored.items.map((m) => m.role)).toEqual(['user', 'assistant']);
    const page = (await (await client.request(`/api/messages?conversation=${conversation.id}`)).json()) as {
      items: { content: string; author: string }[];
    };
    expect(page.items.map((m) => m.author)).toEqual(['you', 'you']);

    const renamed = await client.request(`/api/conversations/${conversation.id}`, {
      method: 'PATCH',
      json: { title: 'Bed 4 turning', expectedVersion: conversation.version },
    });
    expect(renamed.status).toBe(200);
    expect(
      (await app.cb.chat.getConversation({ userId: owner.id, conversationId: conversation.id })).title,
    ).toBe('Bed 4 turning');
    // A second rename from the same (stale) version: someone changed it meanwhile.
    const stale = await client.request(`/api/conversations/${conversation.id}`, {
      method: 'PATCH',
      json: { title: 'Lost update', expectedVersion: conversation.version },
    });
    expect(stale.status).toBe(409);
    expect(
      (await app.cb.chat.getConversation({ userId: owner.id, conversationId: conversation.id })).title,
    ).toBe('Bed 4 turning');

    const archive = await client.request(`/api/conversations/${conversation.id}`, {
      method: 'PATCH',
      json: { archived: true },
    });
    expect(archive.status).toBe(200);
    expect((await conversationList(client)).map((c) => c.id)).not.toContain(conversation.id);
    expect(await conversationList(client, 'only')).toEqual([
      expect.objectContaining({ id: conversation.id, title: 'Bed 4 turning', archived: true }),
    ]);
    const restore = await client.request(`/api/conversations/${conversation.id}`, {
      method: 'PATCH',
      json: { archived: false },
    });
    expect(restore.status).toBe(200);
    expect((await conversationList(client)).map((c) => c.id)).toContain(conversation.id);
    expect(await conversationList(client, 'only')).toEqual([]);
  });

  it('answers bad input with 400, another user’s conversation with 403, and changes nothing', async () => {
    const owner = await app.user('nurse');
    const other = await app.user('nurse');
    const conversation = await app.cb.chat.createConversation({ userId: owner.id, title: 'Mine' });
    const client = await signedIn(owner);
    const path = `/api/conversations/${conversation.id}`;
    const cases: { path: string; init: Parameters<Client['request']>[1]; status: number; field?: string }[] =
      [
        { path, init: { method: 'PATCH', json: {} }, status: 400, field: 'title' },
        { path, init: { method: 'PATCH', json: { title: 42 } }, status: 400, field: 'title' },
        { path, init: { method: 'PATCH', json: { title: 'x'.repeat(201) } }, status: 400, field: 'title' },
        { path, init: { method: 'PATCH', json: { archived: 'yes' } }, status: 400, field: 'archived' },
        { path, init: { method: 'PATCH', json: { title: 'a', expectedVersion: '1' } }, status: 400 },
        {
          path: '/api/conversations/not-an-id',
          init: { method: 'PATCH', json: { title: 'a' } },
          status: 400,
        },
        { path: '/api/conversations', init: { json: { title: ['a'] } }, status: 400, field: 'title' },
        { path: '/api/conversations?archived=maybe', init: {}, status: 400, field: 'archived' },
        { path: '/api/messages?conversation=not-an-id', init: {}, status: 400 },
        {
          path,
          init: { method: 'PATCH', json: { title: 'a' }, headers: { origin: 'http://evil.example' } },
          status: 403,
        },
      ];
    for (const { path: target, init, status, field } of cases) {
      const response = await client.request(target, init);
      expect(response.status, `${target} ${JSON.stringify(init)}`.slice(0, 120)).toBe(status);
      if (field !== undefined) expect(((await response.json()) as { field: string }).field).toBe(field);
    }
    const stranger = await signedIn(other);
    expect(
      (await stranger.request(path, { method: 'PATCH', json: { title: 'Taken', archived: true } })).status,
    ).toBe(403);
    expect((await stranger.request(`${path}/participants`)).status).toBe(403);
    const after = await app.cb.chat.getConversation({ userId: owner.id, conversationId: conversation.id });
    expect(after).toMatchObject({ title: 'Mine', version: conversation.version, archivedAt: null });
    expect(app.logged).toEqual([]);
  });
});

describe('shared conversation', () => {
  it('the clinician sees the patient’s thread and replies as themselves; a stranger gets 403', async () => {
    const patient = await app.user('patient');
    const clinician = await app.user('clinician');
    const stranger = await app.user('nurse');
    const patientClient = await signedIn(patient);
    const { conversation } = (await (
      await patientClient.request('/api/conversations', { json: { title: 'My dressing' } })
    ).json()) as { conversation: ConversationBody };
    await app.cb.chat.addParticipant({
      userId: patient.id,
      conversationId: conversation.id,
      participantId: clinician.id,
      role: 'member',
    });
    const asked = await patientClient.request('/api/messages', {
      json: { content: 'Is my dressing due? I nearly had a fall.', conversationId: conversation.id },
    });
    expect(((await asked.json()) as { messages: { role: string }[] }).messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
    ]);

    // The clinician: the conversation is in their sidebar, marked shared, and they can read it.
    const clinicianClient = await signedIn(clinician);
    expect(await conversationList(clinicianClient)).toContainEqual(
      expect.objectContaining({ id: conversation.id, role: 'member', sharedBy: patient.username }),
    );
    const read = (await (
      await clinicianClient.request(`/api/messages?conversation=${conversation.id}`)
    ).json()) as { items: { role: string; author: string }[] };
    expect(read.items.map((m) => [m.role, m.author])).toEqual([
      ['assistant', patient.username],
      ['user', patient.username],
    ]);
    const people = (await (
      await clinicianClient.request(`/api/conversations/${conversation.id}/participants`)
    ).json()) as { items: { name: string; role: string; you: boolean }[] };
    expect(people.items.map((p) => [p.name, p.role, p.you]).sort()).toEqual(
      [
        [clinician.username, 'member', true],
        [patient.username, 'owner', false],
      ].sort(),
    );

    // Their reply is a human reply: stored with the clinician as author, no assistant answer.
    const reply = await clinicianClient.request('/api/messages', {
      json: { content: 'Please come to the clinic today.', conversationId: conversation.id },
    });
    expect(reply.status).toBe(201);
    const replied = (await reply.json()) as { messages: { author: string; role: string }[] };
    expect(replied.messages).toEqual([expect.objectContaining({ role: 'user', author: 'you' })]);
    const newest = await app.cb.chat.latest({ userId: patient.id, conversationId: conversation.id, n: 1 });
    expect(newest[0]).toMatchObject({
      authorUserId: clinician.id,
      content: 'Please come to the clinic today.',
    });

    // The patient sees the reply under the clinician's name.
    const seen = (await (
      await patientClient.request(`/api/messages?conversation=${conversation.id}`)
    ).json()) as { items: { author: string; content: string }[] };
    expect(seen.items[0]).toMatchObject({
      author: clinician.username,
      content: 'Please come to the clinic today.',
    });

    // A stranger: 403 on every door, nothing written.
    const strangerClient = await signedIn(stranger);
    const before = await counts();
    expect((await strangerClient.request(`/api/messages?conversation=${conversation.id}`)).status).toBe(403);
    expect(
      (
        await strangerClient.request('/api/messages', {
          json: { content: 'Let me in', conversationId: conversation.id },
        })
      ).status,
    ).toBe(403);
    expect((await strangerClient.request(`/api/conversations/${conversation.id}/participants`)).status).toBe(
      403,
    );
    expect((await conversationList(strangerClient)).map((c) => c.id)).not.toContain(conversation.id);
    expect(await counts()).toEqual(before);
  });
});

describe('usage ledger', () => {
  it('records each answer’s tokens and USD cost, and the admin panel sums them exactly by day', async () => {
    const writer = await app.user('nurse');
    const client = await signedIn(writer);
    for (const content of ['How do I reposition a patient?', 'Hand hygiene before a dressing?']) {
      expect((await client.request('/api/messages', { json: { content } })).status).toBe(201);
    }
    const rows = await app.cb.db
      .selectFrom('chat_usage')
      .select(['provider', 'model', 'input_tokens', 'output_tokens', 'cost', 'currency', 'status'])
      .where('user_id', '=', writer.id)
      .execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({
        provider: 'demo',
        model: 'keyword-rules-1',
        currency: 'USD',
        status: 'ok',
      });
      // $2 per million input tokens, $8 per million output tokens.
      const micros = Number(row.input_tokens) * 2 + Number(row.output_tokens) * 8;
      expect(Number(row.cost)).toBeCloseTo(micros / 1e6, 12);
      expect(Number(row.input_tokens)).toBeGreaterThan(0);
    }

    const adminClient = await signedIn(admin);
    const response = await adminClient.request('/api/admin/usage?days=14');
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      days: {
        day: string;
        calls: number;
        inputTokens: number;
        outputTokens: number;
        costs: { currency: string; amount: string }[];
      }[];
      models: { model: string; calls: number; cost: string }[];
    };
    expect(body.days).toHaveLength(14);
    const today = new Date().toISOString().slice(0, 10);
    expect(body.days.at(-1)?.day).toBe(today);
    const raw = await app.cb.db
      .selectFrom('chat_usage')
      .select((eb) => [
        eb.fn.countAll<string>().as('calls'),
        eb.fn.sum<string>('input_tokens').as('input'),
        eb.fn.sum<string>('output_tokens').as('output'),
        eb.fn.sum<string>('cost').as('cost'),
      ])
      .where('created_at', '>=', new Date(`${today}T00:00:00Z`))
      .executeTakeFirstOrThrow();
    expect(body.days.at(-1)).toEqual({
      day: today,
      calls: Number(raw.calls),
      inputTokens: Number(raw.input),
      outputTokens: Number(raw.output),
      costs: [{ currency: 'USD', amount: raw.cost }],
    });
    expect(body.models).toEqual([
      expect.objectContaining({ model: 'keyword-rules-1', calls: Number(raw.calls), cost: raw.cost }),
    ]);
    expect((await adminClient.request('/api/admin/usage?days=0')).status).toBe(400);
    expect((await (await signedIn(writer)).request('/api/admin/usage')).status).toBe(403);
  });
});

interface MessageBody {
  id: string;
  role: string;
  content: string;
  author: string;
  conversationId: string;
  tools: { toolCallId: string; toolName: string; input: unknown; output: unknown; isError: boolean }[];
  branch: { index: number; count: number; siblingIds: string[] } | null;
}

describe('edit, regenerate and branches', () => {
  async function pathOf(client: Client, conversationId: string): Promise<MessageBody[]> {
    const response = await client.request(`/api/messages?conversation=${conversationId}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: MessageBody[] }).items.toReversed(); // root -> leaf
  }

  it('an edit and a regeneration make versions; switching branch shows each one, as chat.path does', async () => {
    const owner = await app.user('nurse');
    const client = await signedIn(owner);
    const conversation = await app.cb.chat.createConversation({ userId: owner.id, title: 'Tree' });
    const conversationId = conversation.id;
    const first = (await (
      await client.request('/api/messages', {
        json: { content: 'How often do I reposition?', conversationId },
      })
    ).json()) as { messages: MessageBody[] };
    const [q1, a1] = first.messages;

    const edited = await client.request(`/api/messages/${q1?.id}/edit`, {
      json: { conversationId, content: 'What do I check after a fall?' },
    });
    expect(edited.status).toBe(201);
    const [q2, a2] = ((await edited.json()) as { messages: MessageBody[] }).messages;
    expect(a2?.content).toMatch(/^Falls risk/);
    let path = await pathOf(client, conversationId);
    expect(path.map((m) => m.id)).toEqual([q2?.id, a2?.id]);
    expect(path[0]?.branch).toEqual({ index: 1, count: 2, siblingIds: [q1?.id, q2?.id] });
    expect(path[1]?.branch).toMatchObject({ index: 0, count: 1 });
    const direct = await app.cb.chat.path({ userId: owner.id, conversationId });
    expect(direct.items.map((m) => m.id)).toEqual(path.map((m) => m.id));

    // Back to the first version: its own answer follows it again.
    const back = await client.request(`/api/conversations/${conversationId}/branch`, {
      json: { messageId: q1?.id },
    });
    expect(back.status).toBe(200);
    expect(await back.json()).toEqual({ leafId: a1?.id });
    path = await pathOf(client, conversationId);
    expect(path.map((m) => m.id)).toEqual([q1?.id, a1?.id]);
    expect(path[0]?.branch).toMatchObject({ index: 0, count: 2 });

    // Regenerate the first answer: a second version with its own usage row.
    const regenerated = await client.request(`/api/messages/${a1?.id}/regenerate`, {
      json: { conversationId },
    });
    expect(regenerated.status).toBe(201);
    const [a1b] = ((await regenerated.json()) as { messages: MessageBody[] }).messages;
    expect(a1b?.content).toMatch(
      /^Here is the same advice put another way\. \(Answer 2\.\)\n\nPressure-injury/,
    );
    path = await pathOf(client, conversationId);
    expect(path.map((m) => m.id)).toEqual([q1?.id, a1b?.id]);
    expect(path[1]?.branch).toEqual({ index: 1, count: 2, siblingIds: [a1?.id, a1b?.id] });
    const usage = await app.cb.chat.usage({
      conversationId,
      from: new Date(Date.now() - 3_600_000),
      to: new Date(Date.now() + 60_000),
      groupBy: 'conversation',
    });
    expect(usage.map((row) => row.calls)).toEqual([3]);

    // Sending now continues the active branch.
    const next = (await (
      await client.request('/api/messages', {
        json: { content: 'And on a standard mattress?', conversationId },
      })
    ).json()) as { messages: MessageBody[] };
    path = await pathOf(client, conversationId);
    expect(path.map((m) => m.id)).toEqual([q1?.id, a1b?.id, ...next.messages.map((m) => m.id)]);
  });

  it('refuses edits of others’ messages and regenerations outside one’s own conversation, writing nothing', async () => {
    const patient = await app.user('patient');
    const clinician = await app.user('clinician');
    const stranger = await app.user('nurse');
    const conversation = await app.cb.chat.createConversation({ userId: patient.id, title: 'Shared tree' });
    const conversationId = conversation.id;
    await app.cb.chat.addParticipant({
      userId: patient.id,
      conversationId,
      participantId: clinician.id,
      role: 'member',
    });
    const patientClient = await signedIn(patient);
    const [question, answer] = (
      (await (
        await patientClient.request('/api/messages', {
          json: { content: 'Is a fall serious?', conversationId },
        })
      ).json()) as { messages: MessageBody[] }
    ).messages;
    const clinicianClient = await signedIn(clinician);
    const strangerClient = await signedIn(stranger);
    const before = await counts();
    const cases: { client: Client; path: string; json: unknown; status: number }[] = [
      {
        client: clinicianClient,
        path: `/api/messages/${question?.id}/edit`,
        json: { conversationId, content: 'x' },
        status: 403,
      },
      {
        client: clinicianClient,
        path: `/api/messages/${answer?.id}/regenerate`,
        json: { conversationId },
        status: 403,
      },
      {
        client: strangerClient,
        path: `/api/messages/${question?.id}/edit`,
        json: { conversationId, content: 'x' },
        status: 403,
      },
      {
        client: strangerClient,
        path: `/api/conversations/${conversationId}/branch`,
        json: { messageId: question?.id },
        status: 403,
      },
      {
        client: patientClient,
        path: `/api/messages/${answer?.id}/edit`,
        json: { conversationId, content: 'x' },
        status: 403,
      },
      {
        client: patientClient,
        path: `/api/messages/${question?.id}/regenerate`,
        json: { conversationId },
        status: 400,
      },
      {
        client: patientClient,
        path: `/api/messages/${question?.id}/edit`,
        json: { conversationId, content: ' ' },
        status: 400,
      },
      {
        client: patientClient,
        path: `/api/messages/${question?.id}/edit`,
        json: { content: 'x' },
        status: 400,
      },
      {
        client: patientClient,
        path: '/api/messages/not-a-number/edit',
        json: { conversationId, content: 'x' },
        status: 400,
      },
      {
        client: patientClient,
        path: `/api/conversations/${conversationId}/branch`,
        json: { messageId: '999999999' },
        status: 404,
      },
    ];
    for (const { client, path, json, status } of cases) {
      const response = await client.request(path, { json });
      expect(response.status, `${path} ${JSON.stringify(json)}`).toBe(status);
    }
    expect(await counts()).toEqual(before);
    expect(app.logged).toEqual([]);
  });
});

describe('tool calls', () => {
  it('stores the formulary lookup as tool-call and tool-result parts and shows them as a card', async () => {
    const writer = await app.user('nurse');
    const client = await signedIn(writer);
    const response = await client.request('/api/messages', {
      json: { content: 'What is the maximum dose of paracetamol in a day?' },
    });
    expect(response.status).toBe(201);
    const [question, answer] = ((await response.json()) as { messages: MessageBody[] }).messages;
    expect(question?.tools).toEqual([]);
    expect(answer?.content).toMatch(/^Formulary lookup for paracetamol/);
    expect(answer?.tools).toEqual([
      {
        toolCallId: expect.stringMatching(/^call_/),
        toolName: 'formulary_lookup',
        input: { drug: 'paracetamol' },
        isError: false,
        output: expect.objectContaining({ drug: 'paracetamol', maxPer24h: expect.stringMatching(/^4 g/) }),
      },
    ]);

    // Stored as typed parts (call, result, text), read back from the database.
    const [stored] = await app.cb.chat.latest({ userId: writer.id, n: 1 });
    expect(stored?.parts?.map((part) => part.type)).toEqual(['tool-call', 'tool-result', 'text']);
    expect(stored?.parts?.[2]).toEqual({ type: 'text', text: stored?.content });
    const conversationId = answer?.conversationId ?? '';
    const page = await client.request(`/api/messages?conversation=${conversationId}`);
    const { items: history } = (await page.json()) as { items: MessageBody[] };
    expect(history.find((message) => message.id === answer?.id)?.tools).toEqual(answer?.tools);

    // A drug the formulary does not have: a failed call, shown as an error card.
    const unknown = await client.request('/api/messages', {
      json: { content: 'Usual dose of unobtainium?' },
    });
    const [, failed] = ((await unknown.json()) as { messages: MessageBody[] }).messages;
    expect(failed?.tools).toEqual([
      expect.objectContaining({
        input: { drug: 'unobtainium' },
        isError: true,
        output: { error: 'not in the demo formulary' },
      }),
    ]);

    // No drug named: no tool call, no parts.
    const plain = await client.request('/api/messages', {
      json: { content: 'Who checks a medication dose?' },
    });
    const [, plainAnswer] = ((await plain.json()) as { messages: MessageBody[] }).messages;
    expect(plainAnswer?.tools).toEqual([]);
    const [plainStored] = await app.cb.chat.latest({ userId: writer.id, n: 1 });
    expect(plainStored?.parts).toBeNull();

    // Editing a question into a drug question: the new answer carries its own card.
    const edited = await client.request(`/api/messages/${question?.id}/edit`, {
      json: { conversationId, content: 'Usual dose of ibuprofen?' },
    });
    expect(edited.status).toBe(201);
    const [, editedAnswer] = ((await edited.json()) as { messages: MessageBody[] }).messages;
    expect(editedAnswer?.tools).toEqual([
      expect.objectContaining({ toolName: 'formulary_lookup', input: { drug: 'ibuprofen' }, isError: false }),
    ]);
  });
});
