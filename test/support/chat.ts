import { randomBytes } from 'node:crypto';
import type { Carebase, CarebaseOptions } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { insertUser } from './users.js';

/** A migrated test database and carebase on it, for one chat test file. */
export interface ChatFixture {
  readonly database: TestDatabase;
  readonly cb: Carebase;
  /** Creates a user directly (without the users repository's hashing) and returns its id. */
  user(name?: string): Promise<string>;
  close(): Promise<void>;
}

export async function chatFixture(
  options: Omit<CarebaseOptions, 'connectionString' | 'schema'> = {},
): Promise<ChatFixture> {
  const database = await createTestDatabase({ carebase: { ...options, pool: { max: 6, ...options.pool } } });
  const cb = database.db;
  return {
    database,
    cb,
    user: (name = `u_${randomBytes(5).toString('hex')}`) => insertUser(cb, name),
    close: () => database.drop(),
  };
}
