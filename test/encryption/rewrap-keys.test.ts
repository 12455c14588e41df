import { randomBytes } from 'node:crypto';
import {
  AbortError,
  type Carebase,
  createCarebase,
  DecryptionError,
  localKeyring,
  UnsupportedOperationError,
} from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../support/rejection.js';

/** KEK rotation against a real PostgreSQL: rewrap every data key online, resumably. */
const K1 = randomBytes(32);
const K2 = randomBytes(32);
const USERS = 5;

let database: TestDatabase;
let owner: pg.Client;
let schema: string;
const userIds: string[] = [];
const instances: Carebase[] = [];

function instance(keys: Record<string, Buffer>, current: string): Carebase {
  const made = createCarebase({
    connectionString: database.url,
    schema,
    pool: { max: 2 },
    encryption: { keyring: localKeyring({ keys, current }) },
  });
  instances.push(made);
  return made;
}

async function kekCounts(): Promise<Record<string, number>> {
  const { rows } = await owner.query<{ kek_id: string; n: number }>(
    `select kek_id, count(*)::int as n from "${schema}".encryption_data_keys group by kek_id`,
  );
  return Object.fromEntries(rows.map((r) => [r.kek_id, r.n]));
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pool: { max: 2 } } });
  schema = database.db.config.schema;
  owner = new pg.Client({ connectionString: database.ownerUrl });
  owner.on('error', () => undefined);
  await owner.connect();
  const old = instance({ k1: K1 }, 'k1');
  for (let u = 0; u < USERS; u++) {
    const { rows } = await owner.query<{ id: string }>(
      `insert into "${schema}".users (username, email, password_hash, role) values ($1, $1 || '@example.org', 'x', 'nurse') returning id`,
      [`rot_${u}`],
    );
    const userId = (rows[0] as { id: string }).id;
    userIds.push(userId);
    await old.chat.createConversation({ userId, title: `title ${u}` });
    await old.chat.append({ userId, role: 'user', content: `message ${u}` });
  }
});

afterAll(async () => {
  for (const made of instances) await made.close();
  await owner?.end();
  await database?.drop();
});

describe('cb.encryption.rewrapKeys', () => {
  it('refuses without encryption', async () => {
    expect(await failure(database.db.encryption.rewrapKeys())).toBeInstanceOf(UnsupportedOperationError);
  });

  it('moves every data key to the current KEK in batches, resumes after an abort, while writes go on', async () => {
    expect(await kekCounts()).toEqual({ k1: USERS });
    const rotating = instance({ k1: K1, k2: K2 }, 'k2');
    const controller = new AbortController();
    const progress: number[] = [];
    const aborted = await failure(
      rotating.encryption.rewrapKeys({
        batchSize: 2,
        signal: controller.signal,
        onProgress: ({ rewrapped }) => {
          progress.push(rewrapped);
          controller.abort();
        },
      }),
    );
    expect(aborted).toBeInstanceOf(AbortError);
    expect(progress).toEqual([2]);
    expect(await kekCounts()).toEqual({ k1: USERS - 2, k2: 2 });

    const [result] = await Promise.all([
      rotating.encryption.rewrapKeys({ batchSize: 2 }),
      rotating.chat.append({ userId: userIds[4] as string, role: 'assistant', content: 'during rotation' }),
    ]);
    expect(result).toEqual({ rewrapped: USERS - 2 });
    expect(await rotating.encryption.rewrapKeys()).toEqual({ rewrapped: 0 });
    expect(await kekCounts()).toEqual({ k2: USERS });

    // The old KEK can now go: a keyring with only the new one reads everything.
    const retired = instance({ k2: K2 }, 'k2');
    for (const [u, userId] of userIds.entries()) {
      const history = await retired.chat.history({ userId });
      expect(history.items[0]?.content).toBe(`message ${u}`);
      const listed = await retired.chat.listConversations({ userId });
      expect(listed.items.map((c) => c.title)).toContain(`title ${u}`);
    }
    // ... and one with only the old KEK reads nothing.
    const error = await failure(instance({ k1: K1 }, 'k1').chat.history({ userId: userIds[0] as string }));
    expect(error).toBeInstanceOf(DecryptionError);
    expect((error as DecryptionError).reason).toBe('unknown_key');
  });
});
