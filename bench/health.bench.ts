import { createCarebase } from 'carebase';
import { sql } from 'kysely';
import pg from 'pg';
import { benchDatabase, compare } from './harness.ts';

/**
 * The query layer: a trivial query through `cb.db` (a host's own Kysely query), a carebase
 * fixed-shape query from the compiled-query cache (`users.findById`), and `cb.health()`, each vs
 * the same work in raw pg (`pool.query`), every side in each round, rotating order.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({ connectionString: database.url, pool: { max: 8 } });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  // database.drop() terminates connections the pool may still be closing: never crash on that.
  pool.on('error', () => undefined);
  try {
    await cb.migrate();
    const { rows } = await pool.query<{ id: string }>(
      `insert into carebase.users (username, email, password_hash, role)
       values ('bench', 'bench@example.org', 'x', 'nurse') returning id`,
    );
    const userId = rows[0]?.id as string;
    const userSql = `select id, username, email, display_name, role, status, failed_login_count, locked_until,
      last_login_at, password_changed_at, created_at, updated_at from carebase.users where id = $1`;
    for (const concurrency of [1, 8]) {
      await compare({
        name: 'trivial pooled query: cb.db (sql`select 1`) vs pool.query',
        concurrency,
        carebase: () => sql`select 1 as one`.execute(cb.db),
        others: { 'pool.query': () => pool.query('select 1 as one') },
      });
      await compare({
        name: 'fixed-shape lookup: cb.users.findById vs pool.query of the same SELECT',
        concurrency,
        carebase: () => cb.users.findById(userId),
        others: { 'pool.query': () => pool.query(userSql, [userId]) },
      });
    }
    await compare({
      name: 'cb.health() vs the same three queries in raw pg',
      concurrency: 1,
      carebase: () => cb.health(),
      others: {
        'raw pg': async () => {
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
      },
    });
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
