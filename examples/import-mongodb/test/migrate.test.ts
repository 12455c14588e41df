/**
 * The MongoDB recipe against a real PostgreSQL: a generated mongoexport with edge cases goes in,
 * the reconciliation adds up, content and timestamps match the export, a rerun imports nothing.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcrypt';
import { type Carebase, createCarebase } from 'carebase';
import { fileMigrations } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeNul, formatReport, migrateMongoExport } from '../src/migrate-export.ts';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'carebase-mongo-export-'));
let database: TestDatabase;
let cb: Carebase;

const oid = (n: number): string => n.toString(16).padStart(24, '0');
const date = (ms: number) => ({ $date: new Date(ms).toISOString() });
const lines = (docs: readonly unknown[]) => `${docs.map((doc) => JSON.stringify(doc)).join('\n')}\n`;

/** What the export holds, to compare with the database afterwards. */
interface Expected {
  readonly messages: { conversation: string; role: string; content: string; at: number }[];
  readonly duplicates: number;
  readonly oldLogs: number;
  readonly logs: number;
  readonly users: number;
  readonly conversations: number;
}

async function writeExport(): Promise<Expected> {
  const now = Date.now();
  const hash = await bcrypt.hash('mongo-pw', 10);
  const users = Array.from({ length: 50 }, (_, i) => ({
    _id: { $oid: oid(i + 1) },
    username: i === 3 ? 'jos\u00e9_\u00f1' : `nurse${i}`,
    email: `nurse${i}@example.org`,
    passwordHash: hash,
    role: 'nurse',
    createdAt: date(now - 400 * DAY + i * 1000),
    lastLogin: i % 2 === 0 ? date(now - DAY) : null,
    favoriteTopics: ['insulin', `topic-${i}`],
    devices: [{ kind: 'ipad', os: { version: { $numberInt: '17' } } }],
  }));
  const expected: Expected['messages'] = [];
  let duplicates = 0;
  const conversations = Array.from({ length: 200 }, (_, c) => {
    const id = oid(1000 + c);
    const messages = Array.from({ length: 100 }, (_, m) => {
      const at = now - 300 * DAY + c * 60_000 + m * 1000;
      let content = `conversation ${c} message ${m} \u2014 dose \u2713 \ud83d\udc89`;
      if (c === 0 && m === 0) content = 'x'.repeat(160 * 1024);
      if (c === 0 && m === 1) content = 'before\u0000after';
      if (c === 0 && m === 2) content = '';
      if (c === 1 && m === 5) content = '\u65e5\u672c\u8a9e\u306e\u8cea\u554f \u0645\u0631\u062d\u0628\u0627';
      const message = {
        _id: { $oid: oid(100_000 + c * 1000 + m) },
        role: m % 2 === 0 ? 'user' : 'assistant',
        content,
        timestamp: date(at),
      };
      expected.push({ conversation: id, role: message.role, content: escapeNul(content), at });
      return message;
    });
    if (c === 2) {
      // The same message twice in the export (a retried write in the old app): imported once.
      messages.push({ ...messages[0], content: 'duplicate id' } as (typeof messages)[number]);
      duplicates++;
    }
    return {
      _id: { $oid: id },
      userId: { $oid: oid((c % 50) + 1) },
      title: `Chat ${c}`,
      createdAt: date(now - 300 * DAY + c * 60_000),
      messages,
    };
  });
  const logs = Array.from({ length: 300 }, (_, i) => ({
    _id: { $oid: oid(900_000 + i) },
    userId: { $oid: oid((i % 50) + 1) },
    action: i % 3 === 0 ? 'LOGIN' : 'VIEW_PATIENT',
    resource: 'patient',
    ip: '10.1.2.3',
    details: { page: { $numberLong: String(i) } },
    // The first 20 are 8 years old: past the default 7-year retention.
    timestamp: date(i < 20 ? now - 8 * 365 * DAY : now - (i % 90) * DAY - 1000),
  }));
  writeFileSync(join(dir, 'users.json'), lines(users));
  writeFileSync(join(dir, 'conversations.json'), lines(conversations));
  writeFileSync(join(dir, 'activity_logs.json'), lines(logs));
  return {
    messages: expected,
    duplicates,
    oldLogs: 20,
    logs: logs.length,
    users: users.length,
    conversations: conversations.length,
  };
}

beforeAll(async () => {
  // As the owner: the recipe also writes the host's own table (mongo_user_extras), whose grants
  // belong to the host's deploy scripts, not to carebase's grantAppRole().
  database = await createTestDatabase({
    role: 'owner',
    sources: [
      fileMigrations(fileURLToPath(new URL('../migrations', import.meta.url)), {
        namespace: 'mongo_example',
      }),
    ],
  });
  cb = createCarebase({ connectionString: database.url, chat: { maxMessageBytes: 200_000 } });
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cb?.close();
  await database?.drop();
});

const checksum = (rows: readonly { conversation: string; role: string; content: string; at: number }[]) =>
  createHash('sha256')
    .update(rows.map((r) => `${r.conversation}\u0001${r.role}\u0001${r.at}\u0001${r.content}`).join('\u0002'))
    .digest('hex');

describe('examples/import-mongodb', () => {
  it('imports a mongoexport with edge cases: counts add up, content and timestamps match, a rerun imports nothing', async () => {
    const expected = await writeExport();
    const report = await migrateMongoExport(cb, dir);
    console.info(`\n${formatReport(report)}`);
    for (const r of [report.users, report.conversations, report.messages, report.auditEntries]) {
      expect(r.read).toBe(r.inserted + r.alreadyPresent + r.refused.length + r.pastRetention);
    }
    expect(report.users).toMatchObject({ read: expected.users, inserted: expected.users, refused: [] });
    expect(report.conversations).toMatchObject({
      read: expected.conversations,
      inserted: expected.conversations,
      refused: [],
    });
    expect(report.messages.read).toBe(expected.messages.length + expected.duplicates);
    expect(report.messages.inserted).toBe(expected.messages.length);
    expect(report.messages.refused.map((r) => r.path)).toEqual(['messages[300].externalId']);
    expect(report.auditEntries).toMatchObject({
      read: expected.logs,
      inserted: expected.logs - expected.oldLogs,
      pastRetention: expected.oldLogs,
      refused: [],
    });
    expect(report.extras).toBe(expected.users);

    const stored = await cb.db
      .selectFrom('chat_messages as m')
      .innerJoin('conversations as c', (join) =>
        join.onRef('c.id', '=', 'm.conversation_id').onRef('c.user_id', '=', 'm.user_id'),
      )
      .select(['c.external_id as conversation', 'm.role', 'm.content', 'm.created_at', 'm.metadata'])
      .where('m.import_source', '=', 'mongo')
      .orderBy('c.external_id')
      .orderBy('m.created_at')
      .orderBy('m.id')
      .execute();
    const got = stored.map((r) => ({
      conversation: r.conversation ?? '',
      role: r.role,
      content: r.content,
      at: r.created_at.getTime(),
    }));
    const want = [...expected.messages].sort((a, b) =>
      a.conversation < b.conversation ? -1 : a.conversation > b.conversation ? 1 : a.at - b.at,
    );
    expect(got.length).toBe(want.length);
    expect(checksum(got)).toBe(checksum(want));
    expect(stored.find((r) => r.content.startsWith('before'))?.metadata).toEqual({ nulEscaped: 1 });

    const login = await cb.users.authenticate({ login: 'nurse7', password: 'mongo-pw' });
    expect(login.ok).toBe(true);
    const extras = await cb.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'nurse7')
      .executeTakeFirstOrThrow();
    expect((await cb.audit.verify()).ok).toBe(true);
    expect(extras.id).toBeDefined();

    const rerun = await migrateMongoExport(cb, dir);
    for (const r of [rerun.users, rerun.conversations, rerun.messages, rerun.auditEntries]) {
      expect(r.inserted, r.entity).toBe(0);
      expect(r.read).toBe(r.alreadyPresent + r.refused.length + r.pastRetention);
    }
  });
});
