import { randomBytes } from 'node:crypto';
import { type Carebase, type CarebaseOptions, createCarebase } from 'carebase';
import { type ScratchDatabase, scratchDatabase } from '../support/database.js';

/** A migrated scratch database and a carebase instance on it, for one test file. */
export interface ChatFixture {
  readonly database: ScratchDatabase;
  readonly cb: Carebase;
  /** Creates a user directly (the users repository arrives later) and returns its id. */
  user(name?: string): Promise<string>;
  close(): Promise<void>;
}

export async function chatFixture(options: CarebaseOptions = {}): Promise<ChatFixture> {
  const database = await scratchDatabase();
  const cb = createCarebase({ connectionString: database.url, pool: { max: 6 }, ...options });
  await cb.migrate();
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
    async close() {
      await cb.close();
      await database.drop();
    },
  };
}
