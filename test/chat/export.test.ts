import { CHAT_EXPORT_FORMAT, CHAT_EXPORT_FORMAT_VERSION, ValidationError } from 'carebase';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;
let userId: string;
let topic: string;
const tricky = 'line one\nline "two", with comma\r\nemoji 👩‍⚕️';

beforeAll(async () => {
  f = await chatFixture({ chat: { exportChunkSize: 7 } });
  userId = await f.user();
  topic = (await f.cb.chat.createConversation({ userId, title: 't' })).id;
  await f.cb.chat.appendMany([
    ...Array.from({ length: 40 }, (_, i) => ({ userId, role: 'user' as const, content: `default ${i}` })),
    {
      userId,
      conversationId: topic,
      role: 'assistant',
      content: tricky,
      metadata: { a: [1, 'x'] },
      id: 'cid-1',
    },
  ]);
});

afterAll(async () => {
  await f?.close();
});

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** A minimal RFC 4180 parser, enough to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  return rows;
}

describe('cb.chat.export', () => {
  it('streams jsonl with a versioned header line, then every message in order', async () => {
    const text = await drain(f.cb.chat.export({ userId, format: 'jsonl' }));
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({
      format: CHAT_EXPORT_FORMAT,
      version: CHAT_EXPORT_FORMAT_VERSION,
      userId,
    });
    expect(lines).toHaveLength(42);
    const messages = lines.slice(1);
    expect(messages.find((m) => m.clientId === 'cid-1')).toMatchObject({
      content: tricky,
      metadata: { a: [1, 'x'] },
      role: 'assistant',
      conversationId: topic,
    });
    const defaults = messages.filter((m) => m.conversationId !== topic).map((m) => m.content);
    expect(defaults).toEqual(Array.from({ length: 40 }, (_, i) => `default ${i}`));
    expect(messages[0].createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });

  it('streams one JSON document and a CSV that parse back to the same messages', async () => {
    const json = JSON.parse(await drain(f.cb.chat.export({ userId, conversationId: topic, format: 'json' })));
    expect(json).toMatchObject({ format: CHAT_EXPORT_FORMAT, version: 1, conversationId: topic });
    expect(json.messages).toHaveLength(1);
    expect(json.messages[0].content).toBe(tricky);
    const csv = parseCsv(await drain(f.cb.chat.export({ userId, format: 'csv' })));
    expect(csv[0]).toEqual([
      'format_version',
      'conversation_id',
      'id',
      'client_id',
      'created_at',
      'role',
      'content',
      'metadata',
      'parts',
    ]);
    expect(csv).toHaveLength(42);
    expect(csv.slice(1).every((row) => row[0] === '1' && row.length === 9)).toBe(true);
    const row = csv.find((r) => r[3] === 'cid-1');
    expect(row?.[6]).toBe(tricky);
    expect(JSON.parse(row?.[7] ?? 'null')).toEqual({ a: [1, 'x'] });
    const empty = JSON.parse(await drain(f.cb.chat.export({ userId: await f.user(), format: 'json' })));
    expect(empty.messages).toEqual([]);
  });

  it('audits each export (format, not content) and validates synchronously', async () => {
    const before = await f.cb.db
      .selectFrom('audit_log')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('action', '=', 'chat.export')
      .executeTakeFirstOrThrow();
    await drain(f.cb.chat.export({ userId, format: 'jsonl' }));
    const rows = await f.cb.db
      .selectFrom('audit_log')
      .select(['subject_id', 'metadata'])
      .where('action', '=', 'chat.export')
      .orderBy('id', 'desc')
      .execute();
    expect(rows).toHaveLength(before.n + 1);
    expect(rows[0]).toEqual({ subject_id: userId, metadata: { format: 'jsonl' } });
    expect(() => f.cb.chat.export({ userId, format: 'xml' as 'csv' })).toThrow(ValidationError);
  });

  it('releases its connection when the consumer stops early', async () => {
    const stream = f.cb.chat.export({ userId, format: 'jsonl' });
    for await (const _chunk of stream) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const health = await f.cb.health();
    expect(health.pool.total - health.pool.idle).toBeLessThanOrEqual(1);
  });

  it("joins the caller's transaction", async () => {
    const text = await f.cb.transaction(async (tx) => {
      await tx.chat.append({ userId, conversationId: topic, role: 'user', content: 'uncommitted' });
      return drain(tx.chat.export({ userId, conversationId: topic, format: 'jsonl' }));
    });
    expect(text).toContain('uncommitted');
  });
});
