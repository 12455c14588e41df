import { createHash, randomInt } from 'node:crypto';
import { createCarebase } from 'carebase';
import pg from 'pg';
import { pgbouncerMissing, startPgBouncer } from '../test/support/pgbouncer.ts';
import { benchDatabase, throughput } from './harness.ts';

const SESSIONS = 10_000;
const USERS = 200;
const CONCURRENCY = 8;

function tokenOf(i: number): string {
  return createHash('sha256').update(`bench-${i}`).digest('base64url');
}

/**
 * The same carebase calls through PgBouncer (transaction mode, `pooler: 'transaction'`: unnamed
 * statements, the timeout as `SET LOCAL`) and directly (named prepared statements), at 8
 * concurrent: `sessions.validate` and `chat.history`. In the report, the "carebase" column is
 * through PgBouncer and the "raw pg" column is carebase direct: the ratio is the pooler's cost
 * (goal >= 0.8x). A raw pg row (unnamed lookups through PgBouncer vs direct) shows PgBouncer's
 * own share.
 */
export default async function run(): Promise<void> {
  if (pgbouncerMissing !== undefined) {
    process.stdout.write(`  skipped: ${pgbouncerMissing}\n`);
    return;
  }
  const database = await benchDatabase();
  const url = new URL(database.url);
  const bouncer = await startPgBouncer({
    serverPort: Number(url.port || 5432),
    users: [{ name: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }],
    poolSize: CONCURRENCY,
  });
  const direct = createCarebase({ connectionString: database.url, pool: { max: CONCURRENCY } });
  const pooled = createCarebase({
    connectionString: bouncer.urlFor(database.url),
    pooler: 'transaction',
    directUrl: database.url,
    pool: { max: CONCURRENCY },
  });
  const rawDirect = new pg.Pool({ connectionString: database.url, max: CONCURRENCY });
  const rawPooled = new pg.Pool({ connectionString: bouncer.urlFor(database.url), max: CONCURRENCY });
  for (const pool of [rawDirect, rawPooled]) pool.on('error', () => undefined);
  try {
    await pooled.migrate();
    await rawDirect.query(
      `insert into carebase.users (username, email, password_hash, role)
       select 'bench_' || i, 'bench_' || i || '@example.org', 'x', 'nurse' from generate_series(1, ${USERS}) i`,
    );
    await rawDirect.query(
      `with u as (select array_agg(id order by username) as ids from carebase.users)
       insert into carebase.sessions (user_id, token_hash, created_at, last_seen_at, expires_at)
       select u.ids[1 + i % ${USERS}],
              sha256(convert_to(translate(rtrim(encode(sha256(convert_to('bench-' || i, 'UTF8')), 'base64'), '='), '+/', '-_'), 'UTF8')),
              now(), now(), now() + interval '12 hours'
         from generate_series(1, ${SESSIONS}) i, u`,
    );
    const { rows } = await rawDirect.query<{ id: string }>(
      'select id from carebase.users order by username limit 20',
    );
    const userIds = rows.map((row) => row.id);
    for (const userId of userIds) {
      await pooled.chat.appendMany(
        Array.from({ length: 500 }, (_, i) => ({ userId, role: 'user' as const, content: `message ${i}` })),
      );
    }
    await rawDirect.query('analyze carebase.users, carebase.sessions, carebase.chat_messages');
    if ((await pooled.sessions.validate(tokenOf(42))) === undefined) {
      throw new Error('bench setup: no session 42 through PgBouncer');
    }
    const fresh = () => rawDirect.query('update carebase.sessions set last_seen_at = now()');
    const token = () => tokenOf(randomInt(1, SESSIONS + 1));
    const user = () => userIds[randomInt(0, userIds.length)] as string;

    await fresh();
    await throughput({
      name: 'sessions.validate through PgBouncer (carebase column) vs direct (raw pg column)',
      concurrency: CONCURRENCY,
      carebase: () => pooled.sessions.validate(token()),
      raw: () => direct.sessions.validate(token()),
    });
    await throughput({
      name: 'chat.history (50 of 500) through PgBouncer (carebase column) vs direct (raw pg column)',
      concurrency: CONCURRENCY,
      carebase: () => pooled.chat.history({ userId: user(), limit: 50 }),
      raw: () => direct.chat.history({ userId: user(), limit: 50 }),
    });
    const lookup = 'select id from carebase.sessions where token_hash = $1';
    const hash = () => createHash('sha256').update(token()).digest();
    await throughput({
      name: 'raw pg unnamed lookup through PgBouncer (carebase column) vs direct (raw pg column)',
      concurrency: CONCURRENCY,
      carebase: () => rawPooled.query(lookup, [hash()]),
      raw: () => rawDirect.query(lookup, [hash()]),
    });
  } finally {
    await pooled.close();
    await direct.close();
    await rawPooled.end();
    await rawDirect.end();
    await bouncer.stop();
    await database.drop();
  }
}
