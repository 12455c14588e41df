import { randomBytes, randomUUID } from 'node:crypto';
import {
  AbortError,
  type Carebase,
  createCarebase,
  localKeyring,
  NotFoundError,
  type RotateDataKeyProgress,
  UnsupportedOperationError,
  ValidationError,
} from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../support/rejection.js';

/**
 * Rotation of one user's data key against a real PostgreSQL: re-encryption in batches, reads and
 * search while rows are under two versions, an interrupted rotation resumed, old versions removed;
 * the database side is read as the owner with raw SQL.
 */
const keyring = localKeyring({ keys: { k1: randomBytes(32) }, current: 'k1' });
const MESSAGES = 23;

let database: TestDatabase;
let cb: Carebase;
let owner: pg.Client;
let schema: string;
const others: Carebase[] = [];

async function user(): Promise<string> {
  const name = `u_${randomBytes(5).toString('hex')}`;
  const { rows } = await owner.query<{ id: string }>(
    `insert into "${schema}".users (username, email, password_hash, role) values ($1, $1 || '@example.org', 'x', 'nurse') returning id`,
    [name],
  );
  return (rows[0] as { id: string }).id;
}

/** How many of the user's messages are sealed under each data key version (from the envelope header). */
async function versions(userId: string): Promise<Record<string, number>> {
  const { rows } = await owner.query<{ v: number; n: number }>(
    `select get_byte(decode(substr(metadata #>> '{}', 5, 8), 'base64'), 4) as v, count(*)::int as n
     from "${schema}".chat_messages where user_id = $1 group by 1 order by 1`,
    [userId],
  );
  return Object.fromEntries(rows.map((r) => [`v${r.v}`, r.n]));
}

async function tokenOf(messageId: string): Promise<string> {
  const { rows } = await owner.query<{ t: string[] }>(
    `select search_tokens::text[] as t from "${schema}".chat_messages where id = $1`,
    [messageId],
  );
  return (rows[0] as { t: string[] }).t.join(',');
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pool: { max: 3 }, encryption: { keyring } } });
  cb = database.db;
  schema = cb.config.schema;
  owner = new pg.Client({ connectionString: database.ownerUrl });
  owner.on('error', () => undefined);
  await owner.connect();
});

afterAll(async () => {
  for (const other of others) await other.close();
  await owner?.end();
  await database?.drop();
});

describe('cb.encryption.rotateDataKey', () => {
  it('interrupted after one batch: reads and search work under two versions; a rerun resumes to the same version', async () => {
    const userId = await user();
    const bystander = await user();
    const conversation = await cb.chat.createConversation({
      userId,
      title: 'rotation title',
      metadata: { a: 1 },
    });
    const written = await cb.chat.appendMany(
      Array.from({ length: MESSAGES }, (_, i) => ({
        userId,
        conversationId: conversation.id,
        role: 'user' as const,
        content: `dose ${i} hydroxychloroquine`,
        metadata: { i },
      })),
    );
    await cb.chat.append({ userId: bystander, role: 'user', content: 'bystander hydroxychloroquine' });
    expect(await versions(userId)).toEqual({ v1: MESSAGES });
    const firstToken = await tokenOf((written[0] as { id: string }).id);

    const controller = new AbortController();
    const progress: RotateDataKeyProgress[] = [];
    const interrupted = await failure(
      cb.encryption.rotateDataKey(userId, {
        batchSize: 10,
        signal: controller.signal,
        onProgress: (p) => {
          progress.push(p);
          if (p.table === 'chat_messages') controller.abort();
        },
      }),
    );
    expect(interrupted).toBeInstanceOf(AbortError);
    expect(progress).toEqual([
      { table: 'conversations', reencrypted: 1 },
      { table: 'chat_messages', reencrypted: 10 },
    ]);
    expect(await versions(userId)).toEqual({ v1: MESSAGES - 10, v2: 10 });

    // Online: every row reads back, search finds rows under either version, new writes use v2.
    const mid = createCarebase({
      connectionString: database.url,
      schema,
      pool: { max: 2 },
      encryption: { keyring },
    });
    others.push(mid);
    for (const reader of [cb, mid]) {
      const history = await reader.chat.history({ userId, conversationId: conversation.id, limit: 100 });
      expect(history.items.map((m) => m.content)).toEqual(written.map((m) => m.content));
      expect(history.items.map((m) => m.metadata)).toEqual(written.map((_, i) => ({ i })));
      const hits = await reader.chat.search({ userId, query: 'hydroxychloroquine', limit: 100 });
      expect(hits.items).toHaveLength(MESSAGES);
    }
    const during = await cb.chat.append({
      userId,
      conversationId: conversation.id,
      role: 'user',
      content: 'during',
    });
    expect(await versions(userId)).toEqual({ v1: MESSAGES - 10, v2: 11 });

    const resumed = await cb.encryption.rotateDataKey(userId, { batchSize: 10 });
    expect(resumed).toEqual({ version: 2, conversations: 0, messages: MESSAGES - 10, removedVersions: 0 });
    expect(await versions(userId)).toEqual({ v2: MESSAGES + 1 });
    // The blind index was remade under the new version's index key.
    expect(await tokenOf((written[0] as { id: string }).id)).not.toBe(firstToken);
    const after = await cb.chat.history({ userId, conversationId: conversation.id, limit: 100 });
    expect(after.items.map((m) => m.content)).toEqual([...written.map((m) => m.content), during.content]);
    expect((await cb.chat.getConversation({ userId, conversationId: conversation.id })).title).toBe(
      'rotation title',
    );
    expect((await cb.chat.search({ userId, query: 'hydroxychloroquine', limit: 100 })).items).toHaveLength(
      MESSAGES,
    );
    // The other user's rows were not touched.
    expect(await versions(bystander)).toEqual({ v1: 1 });

    // Nothing left under v1: the next call is a new rotation, and removeOldKeys deletes v1 and v2.
    const next = await cb.encryption.rotateDataKey(userId, { removeOldKeys: true });
    expect(next).toEqual({ version: 3, conversations: 1, messages: MESSAGES + 1, removedVersions: 2 });
    const { rows: keys } = await owner.query<{ version: number }>(
      `select version from "${schema}".encryption_data_keys where user_id = $1`,
      [userId],
    );
    expect(keys).toEqual([{ version: 3 }]);
    for (const reader of [cb, mid]) {
      const history = await reader.chat.history({ userId, conversationId: conversation.id, limit: 100 });
      expect(history.items).toHaveLength(MESSAGES + 1);
    }
  });

  it('a user without a data key gets their first; bad input is refused before any SQL', async () => {
    const userId = await user();
    expect(await cb.encryption.rotateDataKey(userId)).toEqual({
      version: 1,
      conversations: 0,
      messages: 0,
      removedVersions: 0,
    });
    expect(await failure(cb.encryption.rotateDataKey('not-a-uuid'))).toBeInstanceOf(ValidationError);
    expect(await failure(cb.encryption.rotateDataKey(userId, { batchSize: 0 }))).toBeInstanceOf(
      ValidationError,
    );
    expect(await failure(cb.encryption.rotateDataKey(randomUUID()))).toBeInstanceOf(NotFoundError);
    const plain = createCarebase({ connectionString: database.url, schema, pool: { max: 1 } });
    others.push(plain);
    expect(await failure(plain.encryption.rotateDataKey(userId))).toBeInstanceOf(UnsupportedOperationError);
  });
});
