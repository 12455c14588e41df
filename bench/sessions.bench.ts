import { createHash, randomInt } from 'node:crypto';
import bcrypt from 'bcrypt';
import { createCarebase } from 'carebase';
import pg from 'pg';
import { benchDatabase, duration, throughput } from './harness.ts';

const SESSIONS = 100_000;
const USERS = 1_000;
const IDLE_MS = 15 * 60_000;

/** The token of bench session `i`, as generated in SQL below. */
function tokenOf(i: number): string {
  return createHash('sha256').update(`bench-${i}`).digest('base64url');
}

function randomToken(): string {
  return tokenOf(randomInt(1, SESSIONS + 1));
}

const SELECT_LIST = `s.id, s.user_id, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at,
  u.username, u.email, u.display_name, u.role, u.status, u.failed_login_count, u.locked_until,
  u.last_login_at, u.password_changed_at, u.created_at as user_created_at, u.updated_at as user_updated_at`;

/** The lookup a hand-written raw pg implementation would run, as a NAMED prepared statement. */
const RAW_VALIDATE = `select ${SELECT_LIST}
  from carebase.sessions s join carebase.users u on u.id = s.user_id
  where s.token_hash = $1 and s.revoked_at is null and s.expires_at > $2 and s.last_seen_at > $3
    and u.status = 'active'`;

/** The single-statement alternative: the touch as a data-modifying CTE in every lookup. */
const RAW_VALIDATE_CTE = `with found as (${RAW_VALIDATE}),
  touched as (
    update carebase.sessions x set last_seen_at = $2
      from found where x.user_id = found.user_id and x.id = found.id and x.last_seen_at <= $4
    returning x.id)
  select * from found`;

/**
 * `sessions.validate` vs the raw pg named prepared lookup of the same row (1 and 8 concurrent,
 * 100k sessions), the data-modifying-CTE alternative, and `users.authenticate` at cost 12.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({ connectionString: database.url, pool: { max: 8 } });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  // database.drop() terminates connections the pool may still be closing: never crash on that.
  pool.on('error', () => undefined);
  try {
    await cb.migrate();
    await pool.query(
      `insert into carebase.users (username, email, password_hash, role)
       select 'bench_' || i, 'bench_' || i || '@example.org', 'x', 'nurse' from generate_series(1, ${USERS}) i`,
    );
    await pool.query(
      `with u as (select array_agg(id order by username) as ids from carebase.users)
       insert into carebase.sessions (user_id, token_hash, created_at, last_seen_at, expires_at)
       select u.ids[1 + i % ${USERS}],
              sha256(convert_to(translate(rtrim(encode(sha256(convert_to('bench-' || i, 'UTF8')), 'base64'), '='), '+/', '-_'), 'UTF8')),
              now(), now(), now() + interval '12 hours'
         from generate_series(1, ${SESSIONS}) i, u`,
    );
    await pool.query('analyze carebase.users, carebase.sessions');
    // Sanity: both sides find the same session.
    const probe = tokenOf(42);
    const viaCarebase = await cb.sessions.validate(probe);
    if (viaCarebase === undefined) throw new Error('bench setup: carebase did not find session 42');

    const raw = () => {
      const now = new Date();
      return pool.query({
        name: 'bench_raw_validate',
        text: RAW_VALIDATE,
        values: [createHash('sha256').update(randomToken()).digest(), now, new Date(now.getTime() - IDLE_MS)],
      });
    };
    // The common case is a session seen within the last minute (no touch): refresh before each case.
    const fresh = () => pool.query('update carebase.sessions set last_seen_at = now()');

    for (const concurrency of [1, 8]) {
      await fresh();
      await throughput({
        name: 'sessions.validate vs raw pg named prepared lookup (100k sessions)',
        concurrency,
        carebase: () => cb.sessions.validate(randomToken()),
        raw,
      });
    }
    // Control: raw against itself shows how much of a ratio is this machine's noise.
    await fresh();
    await throughput({
      name: 'control: raw lookup vs the same raw lookup',
      concurrency: 8,
      carebase: raw,
      raw,
    });
    await fresh();
    await throughput({
      name: 'sessions.validate vs single-statement CTE with touch (raw, named)',
      concurrency: 8,
      carebase: () => cb.sessions.validate(randomToken()),
      raw: () => {
        const now = new Date();
        return pool.query({
          name: 'bench_raw_validate_cte',
          text: RAW_VALIDATE_CTE,
          values: [
            createHash('sha256').update(randomToken()).digest(),
            now,
            new Date(now.getTime() - IDLE_MS),
            new Date(now.getTime() - 60_000),
          ],
        });
      },
    });

    // authenticate at the default cost 12 vs the bare minimum a raw login does (select + compare).
    const auth = createCarebase({
      connectionString: database.url,
      pool: { max: 4 },
      users: { lockout: { maxFailures: 100 } },
    });
    try {
      const password = 'correct horse battery staple';
      await auth.users.create({
        username: 'bench_login',
        email: 'bench_login@example.org',
        password,
        role: 'nurse',
      });
      const rawLogin = async (attempt: string) => {
        const { rows } = await pool.query<{ password_hash: string }>({
          name: 'bench_raw_login',
          text: 'select id, password_hash from carebase.users where lower(username) = lower($1)',
          values: ['bench_login'],
        });
        // The same bcrypt work carebase does: its $cb-bcrypt-sha256$v=1 prefix wraps a bcrypt hash
        // (of a 44-byte pre-hash; comparing the attempt itself costs the same).
        return bcrypt.compare(
          attempt,
          (rows[0]?.password_hash ?? '').replace(/^\$cb-bcrypt-sha256\$v=1/, ''),
        );
      };
      await duration({
        name: 'users.authenticate success, cost 12 (raw: select + bcrypt.compare)',
        runs: 10,
        carebase: () => auth.users.authenticate({ login: 'bench_login', password, ip: '192.0.2.1' }),
        raw: () => rawLogin(password),
      });
      await duration({
        name: 'users.authenticate wrong password, cost 12 (raw: select + bcrypt.compare)',
        runs: 10,
        carebase: () => auth.users.authenticate({ login: 'bench_login', password: 'wrong', ip: '192.0.2.1' }),
        raw: () => rawLogin('wrong'),
      });
      await duration({
        name: 'users.authenticate unknown user, cost 12 (raw: select + bcrypt.compare)',
        runs: 10,
        carebase: () => auth.users.authenticate({ login: 'nobody_here', password: 'wrong', ip: '192.0.2.1' }),
        raw: () => rawLogin('wrong'),
      });
    } finally {
      await auth.close();
    }
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
