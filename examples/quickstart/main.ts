/**
 * The quick start, runnable: `npm run example:quickstart`. Uses DATABASE_URL when set; otherwise a
 * throwaway database on the local test server (to be replaced by carebase/testing's startPostgres).
 */
import { randomBytes } from 'node:crypto';
import { createCarebase } from 'carebase';
import pg from 'pg';

const server = process.env.CAREBASE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let url = process.env.DATABASE_URL;
let cleanup = async (): Promise<void> => {};
if (url === undefined) {
  const name = `carebase_quickstart_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const target = new URL(server);
  target.pathname = `/${name}`;
  url = target.toString();
  cleanup = async () => {
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
  };
}

const cb = createCarebase({ connectionString: url });
try {
  const { results } = await cb.migrate();
  console.log(`applied ${results.length} migration(s)`);
  console.log(await cb.health());
} finally {
  await cb.close();
  await cleanup();
}
