import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, countRows, newPassword, type RunningApp, startApp } from './support.ts';

interface Message {
  id: string;
  userId: string;
  conversationId: string;
  role: string;
  content: string;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

let database: TestDatabase;
let app: RunningApp;
let ana: Client;
let ben: Client;

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { users: { bcryptCost: 10 } } });
  app = await startApp(database.db);
  ana = await signedInClient('ana');
  ben = await signedInClient('ben');
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function signedInClient(username: string): Promise<Client> {
  const client = new Client(app.url);
  const password = newPassword();
  const registered = await client.post('/auth/register', {
    username,
    email: `${username}@example.org`,
    password,
  });
  expect(registered.status).toBe(201);
  await client.login(username, password);
  return client;
}

async function append(client: Client, body: Record<string, unknown>): Promise<Message> {
  const response = await client.post('/chat/messages', body);
  expect(response.status).toBe(201);
  return ((await response.json()) as { message: Message }).message;
}

const questions = [
  'How often should a patient be repositioned?',
  'At least every two hours, more often on a pressure-relieving mattress.',
  'What is the insulin dose for a sliding scale?',
  'Follow the prescriber order; check glucose before meals.',
  'When is wound care documentation due?',
  'At every dressing change.',
  'Thanks!',
];

describe('chat', () => {
  let written: Message[];

  beforeAll(async () => {
    written = [];
    for (const [index, content] of questions.entries()) {
      written.push(await append(ana, { content, role: index % 2 === 0 ? 'user' : 'assistant' }));
    }
  });

  it('appends to the signed-in user only', async () => {
    expect(written.map((message) => message.content)).toEqual(questions);
    expect(new Set(written.map((message) => message.userId)).size).toBe(1);
    const benHistory = (await (await ben.get('/chat/messages')).json()) as Page<Message>;
    expect(benHistory.items).toEqual([]);
  });

  it('pages history with a cursor: every message once, in order, across pages', async () => {
    const seen: Message[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: '3', ...(cursor === null ? {} : { cursor }) });
      const response = await ana.get(`/chat/messages?${query}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as Page<Message>;
      pages.push(page.items.length);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(pages).toEqual([3, 3, 1]);
    expect(seen.map((message) => message.id)).toEqual(written.map((message) => message.id));

    const newest = (await (await ana.get('/chat/messages?limit=2&order=desc')).json()) as Page<Message>;
    expect(newest.items.map((message) => message.content)).toEqual(['Thanks!', 'At every dressing change.']);
  });

  it('makes retries idempotent with a client id', async () => {
    const before = await countRows(database.db, 'chat_messages');
    const first = await append(ben, { content: 'Retry me', id: 'client-msg-1' });
    const again = await append(ben, { content: 'Retry me', id: 'client-msg-1' });
    expect(again.id).toBe(first.id);
    expect(await countRows(database.db, 'chat_messages')).toBe(before + 1);
  });

  it('searches the user’s own messages, ranked, with highlighted snippets', async () => {
    const response = await ana.get(`/chat/search?${new URLSearchParams({ q: 'insulin dose' })}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as Page<{ message: Message; snippet: string; rank: number }>;
    expect(page.items.map((hit) => hit.message.id)).toEqual([written[2]?.id]);
    expect(page.items[0]?.snippet).toContain('<b>insulin</b>');
    const benSearch = (await (await ben.get('/chat/search?q=insulin')).json()) as Page<unknown>;
    expect(benSearch.items).toEqual([]);
  });

  it('downloads the history as a JSON Lines attachment', async () => {
    const response = await ana.get('/chat/export?format=jsonl');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="chat-\d{4}-\d{2}-\d{2}\.jsonl"$/,
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    const [header, ...lines] = (await response.text()).trimEnd().split('\n');
    expect(JSON.parse(header ?? '')).toMatchObject({ format: 'carebase.chat-export', version: 1 });
    expect(lines.map((line) => (JSON.parse(line) as Message).content)).toEqual(questions);
  });

  it('downloads CSV too', async () => {
    const response = await ana.get('/chat/export?format=csv');
    expect(response.headers.get('content-disposition')).toMatch(/filename="chat-[\d-]+\.csv"$/);
    const rows = (await response.text()).trimEnd().split('\r\n');
    expect(rows[0]).toBe(
      'format_version,conversation_id,id,client_id,created_at,role,content,metadata,parts',
    );
    expect(rows).toHaveLength(questions.length + 1);
  });

  it('hides another user’s conversation (404), never an empty page', async () => {
    const conversationId = written[0]?.conversationId ?? '';
    const read = await ben.get(`/chat/messages?conversationId=${conversationId}`);
    expect(read.status).toBe(404);
    const before = await countRows(database.db, 'chat_messages');
    const write = await ben.post('/chat/messages', { content: 'intrusion', conversationId });
    expect(write.status).toBe(404);
    expect(await countRows(database.db, 'chat_messages')).toBe(before);
    // The ownership check of a streamed export fails before the first byte: a JSON 404, no file.
    const exported = await ben.get(`/chat/export?conversationId=${conversationId}`);
    expect(exported.status).toBe(404);
    expect(exported.headers.get('content-disposition')).toBeNull();
    expect(await exported.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers 401 without a session', async () => {
    const anonymous = new Client(app.url);
    expect((await anonymous.get('/chat/messages')).status).toBe(401);
    expect((await anonymous.post('/chat/messages', { content: 'hello' })).status).toBe(401);
    expect((await anonymous.get('/chat/export')).status).toBe(401);
  });
});

describe('bad chat input', () => {
  const cases: [string, () => Promise<Response>, string][] = [
    ['a NUL character', () => ana.post('/chat/messages', { content: 'before\u0000after' }), 'content'],
    ['no content', () => ana.post('/chat/messages', {}), 'content'],
    ['an unknown role', () => ana.post('/chat/messages', { content: 'hi', role: 'doctor' }), 'role'],
    [
      'a malformed conversation id',
      () => ana.post('/chat/messages', { content: 'hi', conversationId: 'x' }),
      'conversationId',
    ],
    ['a JSON array body', () => ana.post('/chat/messages', ['hi']), ''],
  ];

  it.each(cases)('refuses %s with 400 naming the field, and writes nothing', async (_name, send, field) => {
    const before = await countRows(database.db, 'chat_messages');
    const response = await send();
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; issues: { path: string }[] };
    expect(body.error).toBe('validation_failed');
    expect(body.issues.map((issue) => issue.path)).toContain(field);
    expect(JSON.stringify(body)).not.toContain('after'); // content is never echoed
    expect(await countRows(database.db, 'chat_messages')).toBe(before);
  });

  it.each([
    ['limit=abc', 'limit'],
    ['limit=0', 'limit'],
    ['cursor=forged', 'cursor'],
    ['cursor=a&cursor=b', 'cursor'],
    ['order=sideways', 'order'],
  ])('refuses history?%s with 400', async (query, field) => {
    const response = await ana.get(`/chat/messages?${query}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { issues: { path: string }[] };
    expect(body.issues.map((issue) => issue.path)).toContain(field);
  });

  it('refuses an unknown export format before sending any file', async () => {
    const response = await ana.get('/chat/export?format=xml');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-disposition')).toBeNull();
  });
});
