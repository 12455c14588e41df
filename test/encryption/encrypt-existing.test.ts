import { randomBytes } from 'node:crypto';
import {
  AbortError,
  type Carebase,
  createCarebase,
  DecryptionError,
  localKeyring,
  UnsupportedOperationError,
  ValidationError,
} from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../support/rejection.js';

/**
 * The online migration of an existing (clear) database to encrypted rows, and crypto-shredding on
 * erasure, against a real PostgreSQL; the database side is read as the owner with raw SQL.
 */
const keyring = localKeyring({ keys: { k1: randomBytes(32) }, current: 'k1' });
const USERS = 3;
const MESSAGES = 25;

let database: TestDatabase;
let plain: Carebase;
let encrypted: Carebase;
let owner: pg.Client;
let schema: string;
const userIds: string[] = [];
const others: Carebase[] = [];

function instance(options: Parameters<typeof createCarebase>[0]): Carebase {
  const made = createCarebase({ connectionString: database.url, schema, pool: { max: 2 }, ...options });
  others.push(made);
  return made;
}

async function rawRows(table: string): Promise<string[]> {
  const { rows } = await owner.query<{ row: string }>(`select t::text as row from "${schema}".${table} t`);
  return rows.map((r) => r.row);
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pool: { max: 3 } } });
  plain = database.db;
  schema = plain.config.schema;
  owner = new pg.Client({ connectionString: database.ownerUrl });
  owner.on('error', () => undefined);
  await owner.connect();
  for (let u = 0; u < USERS; u++) {
    const { rows } = await owner.query<{ id: string }>(
      `insert into "${schema}".users (username, email, password_hash, role) values ($1, $1 || '@example.org', 'x', 'nurse') returning id`,
      [`legacy_${u}`],
    );
    const userId = (rows[0] as { id: string }).id;
    userIds.push(userId);
    const conversation = await plain.chat.createConversation({
      userId,
      title: `clinic-title-${u}`,
      metadata: { ward: `ward-${u}` },
    });
    await plain.chat.appendMany(
      Array.from({ length: MESSAGES }, (_, i) => ({
        userId,
        conversationId: i % 2 === 0 ? conversation.id : undefined,
        role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: `clinic-text-${u}-${i}`,
        metadata: i % 3 === 0 ? { tag: `clinic-meta-${u}-${i}` } : undefined,
      })),
    );
  }
  encrypted = instance({ encryption: { keyring } });
});

afterAll(async () => {
  for (const other of others) await other.close();
  await owner?.end();
  await database?.drop();
});

describe('cb.encryption.encryptExisting', () => {
  it('refuses without a keyring and with bad options', async () => {
    expect(await failure(plain.encryption.encryptExisting())).toBeInstanceOf(UnsupportedOperationError);
    expect(await failure(encrypted.encryption.encryptExisting({ batchSize: 0 }))).toBeInstanceOf(
      ValidationError,
    );
  });

  it('encrypts in batches while the application writes, resumes after an abort, and leaves no clear text', async () => {
    const before = await Promise.all(userIds.map((userId) => plain.users.exportData(userId)));
    // Clear rows stay readable while the migration has not finished (plaintextReads: 'allow').
    expect((await encrypted.chat.history({ userId: userIds[0] as string, limit: 1 })).items).toHaveLength(1);

    const controller = new AbortController();
    const progress: string[] = [];
    const aborted = await failure(
      encrypted.encryption.encryptExisting({
        batchSize: 7,
        signal: controller.signal,
        onProgress: ({ table, encrypted: n }) => {
          progress.push(`${table}:${n}`);
          if (table === 'chat_messages' && n >= 14) controller.abort();
        },
      }),
    );
    expect(aborted).toBeInstanceOf(AbortError);
    expect(progress).toEqual(['conversations:6', 'chat_messages:7', 'chat_messages:14']);
    const half = await rawRows('chat_messages');
    expect(half.filter((row) => row.includes('clinic-text')).length).toBe(USERS * MESSAGES - 14);

    // Writes go on meanwhile (sealed), and the rerun continues where the first run stopped.
    const [result] = await Promise.all([
      encrypted.encryption.encryptExisting({ batchSize: 7 }),
      encrypted.chat.append({ userId: userIds[1] as string, role: 'user', content: 'clinic-text-live' }),
    ]);
    expect(result).toEqual({ conversations: 0, messages: USERS * MESSAGES - 14 });
    expect(await encrypted.encryption.encryptExisting()).toEqual({ conversations: 0, messages: 0 });

    for (const table of ['chat_messages', 'conversations']) {
      for (const row of await rawRows(table)) expect(row).not.toMatch(/clinic-/);
    }
    // Every row now reads back exactly as before, even with clear rows refused.
    const strict = instance({ encryption: { keyring, plaintextReads: 'refuse' } });
    const after = await Promise.all(userIds.map((userId) => strict.users.exportData(userId)));
    const chatOf = (data: (typeof before)[number]) =>
      (
        data as unknown as {
          chat: { conversations: { title: unknown; metadata: unknown; messages: { content: string }[] }[] };
        }
      ).chat.conversations.map((c) => ({
        title: c.title,
        metadata: c.metadata,
        messages: c.messages.filter((m) => m.content !== 'clinic-text-live'),
      }));
    expect(after.map(chatOf)).toEqual(before.map(chatOf));
  });
});

describe('crypto-shredding', () => {
  it('users.erase destroys the data key: a copy of the rows taken before the erase cannot be decrypted', async () => {
    const userId = userIds[2] as string;
    const { rows: userRow } = await owner.query(`select * from "${schema}".users where id = $1`, [userId]);
    const { rows: conversations } = await owner.query(
      `select * from "${schema}".conversations where user_id = $1`,
      [userId],
    );
    const { rows: messages } = await owner.query(
      `select id, user_id, conversation_id, client_id, role, content, metadata, language, created_at from "${schema}".chat_messages where user_id = $1`,
      [userId],
    );
    expect(messages.length).toBe(MESSAGES);
    await encrypted.users.erase(userId);
    const { rows: keys } = await owner.query(
      `select 1 from "${schema}".encryption_data_keys where user_id = $1`,
      [userId],
    );
    expect(keys).toHaveLength(0);

    // Put the copied rows back (as a restore of an old backup of those tables would).
    const u = userRow[0] as Record<string, unknown>;
    await owner.query(
      `insert into "${schema}".users (id, username, email, password_hash, role) values ($1, $2, $3, $4, $5)`,
      [u.id, u.username, u.email, u.password_hash, u.role],
    );
    for (const c of conversations as Record<string, unknown>[]) {
      await owner.query(
        `insert into "${schema}".conversations (id, user_id, title, is_default, metadata) values ($1, $2, $3, $4, $5)`,
        [c.id, c.user_id, c.title, c.is_default, JSON.stringify(c.metadata)],
      );
    }
    for (const m of messages as Record<string, unknown>[]) {
      await owner.query(
        `insert into "${schema}".chat_messages (id, user_id, conversation_id, client_id, role, content, metadata, language, created_at)
         overriding system value values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          m.id,
          m.user_id,
          m.conversation_id,
          m.client_id,
          m.role,
          m.content,
          JSON.stringify(m.metadata),
          m.language,
          m.created_at,
        ],
      );
    }
    for (const reader of [encrypted, instance({ encryption: { keyring } })]) {
      const error = await failure(reader.chat.history({ userId }));
      expect(error).toBeInstanceOf(DecryptionError);
      expect((error as DecryptionError).reason).toBe('missing_key');
      const listed = await failure(reader.chat.listConversations({ userId }));
      expect((listed as DecryptionError).reason).toBe('missing_key');
    }
  });
});
