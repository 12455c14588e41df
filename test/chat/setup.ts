import { randomBytes } from 'node:crypto';
import { type Carebase, type CarebaseOptions, createCarebase } from 'carebase';
import { type MigratedDatabase, migratedDatabase } from '../support/database.js';

/** A migrated database and a carebase instance on it as the app role, for one test file. */
export interface ChatFixture {
  readonly database: MigratedDatabase;
  readonly cb: Carebase;
  /** Creates a user directly (the users repository arrives later) and returns its id. */
  user(name?: string): Promise<string>;
  close(): Promise<void>;
}

export async function chatFixture(options: CarebaseOptions = {}): Promise<ChatFixture> {
  const database = await migratedDatabase();
  if (options.schema !== undefined) await database.migrateSchema(options.schema);
  const cb = createCarebase({ connectionString: database.url, pool: { max: 6 }, ...options });
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
