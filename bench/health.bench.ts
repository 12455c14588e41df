import { createCarebase } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { benchDatabase, throughput } from './harness.ts';

/** `cb.health()`-style round trips and a trivial pooled query through carebase vs raw pg. */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({ connectionString: database.url, pool: { max: 8 } });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  try {
    await cb.migrate();
    for (const concurrency of [1, 8]) {
      await throughput({
        name: 'trivial pooled query: cb.db vs pool.query',
        concurrency,
        carebase: () => sql`select 1 as one`.execute(cb.db),
        raw: () => pool.query('select 1 as one'),
      });
    }
    await throughput({
      name: 'cb.health() vs the same three queries in raw pg',
      concurrency: 1,
      carebase: () => cb.health(),
      raw: async () => {
        await pool.query("select current_setting('server_version') as version");
        const client = await pool.connect();
        try {
          await client.query("select to_regclass('carebase.schema_migrations') is not null as exists");
          await client.query(
            "select name, checksum from carebase.schema_migrations where namespace = 'carebase' order by name",
          );
        } finally {
          client.release();
        }
      },
    });
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
