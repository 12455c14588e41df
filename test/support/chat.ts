import { randomBytes } from 'node:crypto';
import type { Carebase, CarebaseOptions } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';

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
    async user(name = `u_${randomBytes(5).toString('hex')}`) {
      const row = await cb.db
        .insertInto('users')
        .values({ username: name, email: `${name}@example.org`, password_hash: 'x', role: 'nurse' })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    },
    close: () => database.drop(),
  };
}
