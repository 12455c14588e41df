import { grantAppRole, migrate } from 'carebase/migration';
import { createTestDatabase } from 'carebase/testing';
import pg from 'pg';

/**
 * A throwaway empty database (no migrations applied) on the run's server: the one published by
 * test/global-setup.ts in CAREBASE_TEST_DATABASE_URL. Kept for older tests; new tests use
 * `createTestDatabase()` from carebase/testing, which clones a migrated template.
 */
export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

export const serverUrl =
  process.env.CAREBASE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function urlFor(database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery<R extends pg.QueryResultRow = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A migrated database cloned from the template, whose `url` logs in as the least-privilege app
 * role (`createTestDatabase({ role: 'app' })`), as the repositories run in production; `ownerUrl`
 * logs in as the owner (superuser here) for setup and tampering. `cb.migrate()` on `url` finds
 * nothing pending.
 */
export interface MigratedDatabase extends ScratchDatabase {
  readonly ownerUrl: string;
  /** Migrates another carebase schema as the owner and grants the app role on it. */
  migrateSchema(schema: string): Promise<void>;
}

export async function migratedDatabase(): Promise<MigratedDatabase> {
  const database = await createTestDatabase({ serverUrl, role: 'app' });
  await database.db.close();
  return {
    url: database.url,
    ownerUrl: database.ownerUrl,
    name: database.name,
    drop: () => database.drop(),
    async migrateSchema(schema) {
      await migrate(database.ownerUrl, { schema });
      await grantAppRole(database.ownerUrl, {
        role: decodeURIComponent(new URL(database.url).username),
        schema,
      });
    },
  };
}

export async function scratchDatabase(): Promise<ScratchDatabase> {
  const database = await createTestDatabase({ serverUrl, migrate: false });
  return { url: database.url, name: database.name, drop: () => database.drop() };
}
