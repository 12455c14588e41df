import { grantAppRole, migrate } from 'carebase/migration';
import type { TestDatabase } from 'carebase/testing';
import pg from 'pg';

/**
 * Superuser access to the run's server (the one test/global-setup.ts publishes in
 * CAREBASE_TEST_DATABASE_URL), for what tests do behind carebase's back: roles, settings,
 * terminating backends, listing databases. Test databases come from carebase/testing's
 * `createTestDatabase()` (a migrated clone; `{ migrate: false }` for an empty one).
 */
export const serverUrl =
  process.env.CAREBASE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** `serverUrl` with its database replaced by `database`. */
export function urlFor(database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs one statement as the superuser on the maintenance database, on its own connection. */
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
 * Migrates `schema` as the owner of `database` and grants its app role there (when `database`
 * runs as the app role): what a deploy does for a second carebase schema.
 */
export async function migrateSchemaForApp(database: TestDatabase, schema: string): Promise<void> {
  await migrate(database.ownerUrl, { schema });
  if (database.role === 'app') {
    await grantAppRole(database.ownerUrl, {
      role: decodeURIComponent(new URL(database.url).username),
      schema,
    });
  }
}
