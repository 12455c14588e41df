import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A throwaway database on the server named by CAREBASE_TEST_DATABASE_URL (default: the local
 * server at 127.0.0.1:5432, user postgres). Superseded by carebase/testing's createTestDatabase().
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
  const name = `carebase_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  return {
    url: urlFor(name),
    name,
    async drop() {
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}
