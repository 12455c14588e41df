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

export async function scratchDatabase(): Promise<ScratchDatabase> {
  const database = await createTestDatabase({ serverUrl, migrate: false });
  return { url: database.url, name: database.name, drop: () => database.drop() };
}
