import { createHash, randomInt } from 'node:crypto';
import { type Carebase, createCarebase } from 'carebase';
import { grantAppRole } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { benchServerUrl, compare } from './harness.ts';

const USERS = 200;
const SESSIONS = 20_000;
const MESSAGES_PER_USER = 60;
const IDLE_MS = 15 * 60_000;

const RAW_VALIDATE = `select s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, u.username, u.email, u.role
  from carebase.sessions s join carebase.users u on u.id = s.user_id
  where s.token_hash = $1 and s.revoked_at is null and s.expires_at > $2 and s.last_seen_at > $3
    and u.status = 'active'`;
const RAW_HISTORY = `select id, conversation_id, role, content, created_at from carebase.chat_messages
  where user_id = $1 order by created_at desc, id desc limit 20`;

function tokenOf(i: number): string {
  return createHash('sha256').update(`rls-bench-${i}`).digest('base64url');
}

/** A migrated database as the app role, seeded identically; row security on or off. */
async function seeded(rowSecurity: boolean): Promise<{ database: TestDatabase; users: string[] }> {
  const database = await createTestDatabase({ serverUrl: benchServerUrl, role: 'app', spares: 0 });
  await grantAppRole(database.ownerUrl, {
    role: decodeURIComponent(new URL(database.url).username),
    rowSecurity,
  });
  const owner = createCarebase({ connectionString: database.ownerUrl, pool: { max: 4 } });
  const pool = new pg.Pool({ connectionString: database.ownerUrl, max: 2 });
  // database.drop() terminates connections the pool may still be closing: never crash on that.
  pool.on('error', () => undefined);
  try {
    const { rows } = await pool.query<{ id: string }>(
      `insert into carebase.users (username, email, password_hash, role)
       select 'bench_' || i, 'bench_' || i || '@example.org', 'x', 'nurse' from generate_series(1, ${USERS}) i
       returning id`,
    );
    const users = rows.map((row) => row.id).sort();
    await pool.query(
      `with u as (select array_agg(id order by id) as ids from carebase.users)
       insert into carebase.sessions (user_id, token_hash, created_at, last_seen_at, expires_at)
       select u.ids[1 + i % ${USERS}],
              sha256(convert_to(translate(rtrim(encode(sha256(convert_to('rls-bench-' || i, 'UTF8')), 'base64'), '='), '+/', '-_'), 'UTF8')),
              now(), now(), now() + interval '12 hours'
         from generate_series(1, ${SESSIONS}) i, u`,
    );
    for (const userId of users) {
      await owner.chat.appendMany(
        Array.from({ length: MESSAGES_PER_USER }, (_, i) => ({
          userId,
          role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content: `message ${i} of the bench conversation about blood pressure and medication`,
        })),
      );
    }
    await pool.query('analyze carebase.users, carebase.sessions, carebase.chat_messages');
    return { database, users };
  } finally {
    await owner.close();
    await pool.end();
  }
}

/**
 * Row-level security on vs off: `sessions.validate` (the hot path: through `session_lookup()`
 * under rls) and a `chat.history` page of 20 (in a transaction carrying `carebase.actor_user_id`
 * under rls), each against raw pg on the same data without row security, and raw pg doing what
 * carebase does under rls (begin, set_config, select, commit); and `analytics.track` (under rls
 * its INSERT in a transaction carrying `carebase.system_scope`) against a raw prepared INSERT.
 */
export default async function run(): Promise<void> {
  const off = await seeded(false);
  const on = await seeded(true);
  const cbOff: Carebase = createCarebase({ connectionString: off.database.url, pool: { max: 8 } });
  const cbOn: Carebase = createCarebase({ connectionString: on.database.url, pool: { max: 8 }, rls: true });
  const rawOff = new pg.Pool({ connectionString: off.database.url, max: 8 });
  // database.drop() terminates connections the pool may still be closing: never crash on that.
  rawOff.on('error', () => undefined);
  const rawOn = new pg.Pool({ connectionString: on.database.url, max: 8 });
  // database.drop() terminates connections the pool may still be closing: never crash on that.
  rawOn.on('error', () => undefined);
  try {
    const token = () => tokenOf(randomInt(1, SESSIONS + 1));
    if ((await cbOn.sessions.validate(tokenOf(7))) === undefined)
      throw new Error('bench setup: no session 7');
    await compare({
      name: 'sessions.validate, rls on vs raw pg (rls off); peers: carebase rls off',
      concurrency: 8,
      carebase: () => cbOn.sessions.validate(token()),
      others: {
        raw: () => {
          const now = new Date();
          return rawOff.query({
            name: 'rls_bench_validate',
            text: RAW_VALIDATE,
            values: [createHash('sha256').update(token()).digest(), now, new Date(now.getTime() - IDLE_MS)],
          });
        },
        'carebase rls off': () => cbOff.sessions.validate(token()),
      },
    });
    const userOn = () => on.users[randomInt(0, USERS)] as string;
    const userOff = () => off.users[randomInt(0, USERS)] as string;
    const page = await cbOn
      .withActor({ userId: userOn() })
      .chat.history({ userId: on.users[0] as string, limit: 20 });
    if (page.items.length !== 0) throw new Error('bench setup: another user read a history page');
    await compare({
      name: 'chat.history page of 20, rls on vs raw pg (rls off); peers: carebase rls off, raw pg rls',
      concurrency: 8,
      carebase: () => {
        const userId = userOn();
        return cbOn.withActor({ userId }).chat.history({ userId, limit: 20 });
      },
      others: {
        raw: () => rawOff.query({ name: 'rls_bench_history', text: RAW_HISTORY, values: [userOff()] }),
        'carebase rls off': () => {
          const userId = userOff();
          return cbOff.withActor({ userId }).chat.history({ userId, limit: 20 });
        },
        'raw pg rls (begin, set_config, select, commit)': async () => {
          const client = await rawOn.connect();
          try {
            const userId = userOn();
            await client.query('begin');
            await client.query("select set_config('carebase.actor_user_id', $1, true)", [userId]);
            await client.query({ name: 'rls_bench_history', text: RAW_HISTORY, values: [userId] });
            await client.query('commit');
          } finally {
            client.release();
          }
        },
      },
    });
    // Analytics (migration 0047): `track` under rls is its INSERT in a transaction with the scope.
    const RAW_TRACK = `insert into carebase.analytics_events (occurred_at, user_id, event_type, event_name, data)
      values ($1, $2, 'feature', 'bench.track', $3)`;
    const trackOf = (userId: string) => ({
      userId,
      eventType: 'feature',
      eventName: 'bench.track',
      data: { ok: true },
    });
    await compare({
      name: 'analytics.track, rls on vs raw pg INSERT (rls off); peers: carebase rls off',
      concurrency: 8,
      carebase: () => cbOn.analytics.track(trackOf(userOn())),
      others: {
        raw: () =>
          rawOff.query({
            name: 'rls_bench_track',
            text: RAW_TRACK,
            values: [new Date(), userOff(), { ok: true }],
          }),
        'carebase rls off': () => cbOff.analytics.track(trackOf(userOff())),
      },
    });
  } finally {
    await cbOff.close();
    await cbOn.close();
    await rawOff.end();
    await rawOn.end();
    await off.database.drop();
    await on.database.drop();
  }
}
