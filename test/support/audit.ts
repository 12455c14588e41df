import type { Carebase, CarebaseOptions } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';

/** A migrated test database for one audit test file, and carebase on it. */
export interface AuditFixture {
  readonly database: TestDatabase;
  readonly cb: Carebase;
  /** Runs SQL as the superuser with user triggers disabled (to tamper), on its own connection. */
  tamper(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Runs SQL as the superuser with triggers enabled. */
  admin(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  close(): Promise<void>;
}

export async function auditFixture(
  options: Omit<CarebaseOptions, 'connectionString'> = {},
): Promise<AuditFixture> {
  const { schema, ...carebase } = options;
  const database = await createTestDatabase({ ...(schema === undefined ? {} : { schema }), carebase });
  const cb = database.db;
  const run = async (text: string, values: unknown[], replica: boolean): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: database.ownerUrl }); // the owner: tampering needs it
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
    close: () => database.drop(),
  };
}
