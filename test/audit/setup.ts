import { type Carebase, type CarebaseOptions, createCarebase } from 'carebase';
import pg from 'pg';
import { type MigratedDatabase, migratedDatabase } from '../support/database.js';

/** A migrated database for one audit test file: `cb` runs as the app role, tamper/admin as the owner. */
export interface AuditFixture {
  readonly database: MigratedDatabase;
  readonly cb: Carebase;
  /** Runs SQL as the superuser with user triggers disabled (to tamper), on its own connection. */
  tamper(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Runs SQL as the superuser with triggers enabled. */
  admin(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  close(): Promise<void>;
}

export async function auditFixture(options: CarebaseOptions = {}): Promise<AuditFixture> {
  const database = await migratedDatabase();
  if (options.schema !== undefined) await database.migrateSchema(options.schema);
  const cb = createCarebase({ connectionString: database.url, ...options });
  const run = async (text: string, values: unknown[], replica: boolean): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: database.ownerUrl });
    await client.connect();
    try {
      await client.query(`set search_path = ${cb.config.schema}`);
      if (replica) await client.query('set session_replication_role = replica');
      return await client.query(text, values);
    } finally {
      await client.end();
    }
  };
  return {
    database,
    cb,
    tamper: (text, values = []) => run(text, values, true),
    admin: (text, values = []) => run(text, values, false),
    async close() {
      await cb.close();
      await database.drop();
    },
  };
}
