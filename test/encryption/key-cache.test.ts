import { randomBytes } from 'node:crypto';
import { type Carebase, createCarebase, localKeyring, type QueryEvent } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The instance's cache of unwrapped data keys (`encryption.keyCacheSize`) against a real
 * PostgreSQL: reads of cached users do not touch encryption_data_keys, and the cache never holds
 * more than its bound (least recently used evicted), seen through the statements `onQuery` reports.
 */
const keyring = localKeyring({ keys: { k1: randomBytes(32) }, current: 'k1' });

let database: TestDatabase;
let owner: pg.Client;
let bounded: Carebase;
const events: QueryEvent[] = [];
const users: string[] = [];

/** Reads the history of `user` and says whether its data key was read from the database. */
async function readsKey(user: string): Promise<boolean> {
  events.length = 0;
  const page = await bounded.chat.history({ userId: user });
  expect(page.items.map((m) => m.content)).toEqual([`note of ${user}`]);
  return events.some((event) => event.table?.endsWith('encryption_data_keys') === true);
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pool: { max: 2 }, encryption: { keyring } } });
  const schema = database.db.config.schema;
  owner = new pg.Client({ connectionString: database.ownerUrl });
  owner.on('error', () => undefined);
  await owner.connect();
  for (let i = 0; i < 3; i++) {
    const { rows } = await owner.query<{ id: string }>(
      `insert into "${schema}".users (username, email, password_hash, role) values ($1, $1 || '@example.org', 'x', 'nurse') returning id`,
      [`u_${randomBytes(5).toString('hex')}`],
    );
    const id = (rows[0] as { id: string }).id;
    users.push(id);
    await database.db.chat.append({ userId: id, role: 'user', content: `note of ${id}` });
  }
  bounded = createCarebase({
    connectionString: database.url,
    schema,
    pool: { max: 2 },
    encryption: { keyring, keyCacheSize: 2 },
    onQuery: (event) => events.push(event),
  });
});

afterAll(async () => {
  await bounded?.close();
  await owner?.end();
  await database?.drop();
});

describe('encryption.keyCacheSize', () => {
  it('keeps at most keyCacheSize users, least recently used evicted', async () => {
    const [a, b, c] = users as [string, string, string];
    expect(await readsKey(a)).toBe(true);
    expect(await readsKey(a)).toBe(false);
    expect(await readsKey(b)).toBe(true);
    expect(await readsKey(a)).toBe(false); // a is now the most recently used
    expect(await readsKey(c)).toBe(true); // evicts b, the least recently used
    expect(await readsKey(a)).toBe(false);
    expect(await readsKey(c)).toBe(false);
    expect(await readsKey(b)).toBe(true); // was evicted; evicts a
    expect(await readsKey(a)).toBe(true);
  });
});
