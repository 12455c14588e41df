import type { Carebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The hot chat statements must stay cheap to plan: PostgreSQL adopts a generic plan for a prepared
 * statement after five custom plans only when the generic one costs no more, so a statement that
 * joins an unnest() or reaches conversations through a scan is replanned on every call (the cost
 * that made append 0.35x of a raw INSERT). The repository runs as the app role on a pool of ONE
 * connection, so pg_prepared_statements (per session) shows exactly its statements.
 */
let database: TestDatabase;
let cb: Carebase;
let schema: string;
let userId: string;
let conversationId: string;
/** A conversation with a chosen active leaf: its appends take the full shape. */
let branchedId: string;
/** A user whose default conversation has a chosen active leaf. */
let branchedUser: string;

const CALLS = 12;

/** Every hot shape, calls `from` to `to` (the client ids differ per call). */
async function exercise(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    await cb.chat.append({ userId, conversationId, role: 'user', content: `to a conversation ${i}` });
    await cb.chat.append({ userId, conversationId, role: 'user', content: `with an id ${i}`, id: `c-${i}` });
    const branch = { userId, conversationId: branchedId, role: 'user' } as const;
    await cb.chat.append({ ...branch, content: `to a branch ${i}` });
    await cb.chat.append({ ...branch, content: `with an id ${i}`, id: `b-${i}` });
    await cb.chat.append({ userId, role: 'assistant', content: `to the default ${i}` });
    await cb.chat.append({ userId, role: 'assistant', content: `to the default ${i}`, id: `client-${i}` });
    const branchedDefault = { userId: branchedUser, role: 'assistant' } as const;
    await cb.chat.append({ ...branchedDefault, content: `to a branched default ${i}` });
    await cb.chat.append({ ...branchedDefault, content: `to a branched default ${i}`, id: `bd-${i}` });
    // Concurrent appends: one group statement (append-group.ts), here of two.
    await Promise.all(
      ['first', 'second'].map((word) =>
        cb.chat.append({ userId, conversationId, role: 'user', content: `in a group ${i}, ${word}` }),
      ),
    );
    await Promise.all(
      ['first', 'second'].map((word) =>
        cb.chat.append({
          userId,
          conversationId,
          role: 'user',
          content: `with ids ${i}`,
          id: `g-${word}-${i}`,
        }),
      ),
    );
    const usage = { provider: 'openai', model: 'plan-1', inputTokens: 10, status: 'ok' } as const;
    await Promise.all(
      ['first', 'second'].map((word) =>
        cb.chat.append({ userId, conversationId, role: 'assistant', content: `priced ${i}, ${word}`, usage }),
      ),
    );
    const page = await cb.chat.history({ userId, conversationId, limit: 5 });
    await cb.chat.history({ userId, conversationId, limit: 5, cursor: page.nextCursor });
    await cb.chat.history({ userId, limit: 5 });
    await cb.chat.latest({ userId, n: 3 });
  }
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pool: { max: 1 } } });
  cb = database.db;
  schema = cb.config.schema;
  // As the owner: realistic sizes and fresh statistics (ANALYZE needs ownership): 3,000 users
  // with a default conversation each (so an index is the planner's choice on conversations), ten
  // with 30 messages, and one (plan_17) with 50,000 messages in its default conversation and
  // 50,000 in another: deep enough that a generic plan with `LIMIT $n` (costed for a tenth of a
  // conversation) loses to custom plans, as it did on the benchmark's data.
  const owner = new pg.Client({ connectionString: database.ownerUrl });
  await owner.connect();
  try {
    const s = (name: string) => `"${schema}".${name}`;
    await owner.query(`insert into ${s('users')} (username, email, password_hash, role)
      select 'plan_' || g, 'plan_' || g || '@example.org', 'x', 'nurse' from generate_series(1, 3000) g`);
    await owner.query(
      `insert into ${s('conversations')} (user_id, is_default) select id, true from ${s('users')}`,
    );
    await owner.query(`insert into ${s('chat_messages')} (user_id, conversation_id, role, content)
      select c.user_id, c.id, 'user', 'seed ' || g from ${s('conversations')} c, generate_series(1, 30) g
      where c.user_id in (select id from ${s('users')} order by username limit 10)`);
    await owner.query(`insert into ${s('conversations')} (user_id, is_default)
      select id, false from ${s('users')} where username = 'plan_17'`);
    await owner.query(`insert into ${s('chat_messages')} (user_id, conversation_id, role, content)
      select c.user_id, c.id, 'user', 'deep ' || g from ${s('conversations')} c
      join ${s('users')} u on u.id = c.user_id and u.username = 'plan_17', generate_series(1, 50000) g`);
    await owner.query(`analyze ${s('users')}, ${s('conversations')}, ${s('chat_messages')}`);
  } finally {
    await owner.end();
  }
  const row = await cb.db
    .selectFrom('users')
    .select('id')
    .where('username', '=', 'plan_17')
    .executeTakeFirstOrThrow();
  userId = row.id;
  conversationId = (
    await cb.db
      .selectFrom('conversations')
      .select('id')
      .where('user_id', '=', userId)
      .where('is_default', '=', false)
      .executeTakeFirstOrThrow()
  ).id;
  branchedId = (await cb.chat.createConversation({ userId, title: 'branched' })).id;
  const root = await cb.chat.append({ userId, conversationId: branchedId, role: 'user', content: 'root' });
  await cb.chat.append({ userId, conversationId: branchedId, role: 'assistant', content: 'answer' });
  await cb.chat.setActiveLeaf({ userId, conversationId: branchedId, messageId: root.id });
  branchedUser = (
    await cb.db.selectFrom('users').select('id').where('username', '=', 'plan_18').executeTakeFirstOrThrow()
  ).id;
  const first = await cb.chat.append({ userId: branchedUser, role: 'user', content: 'first' });
  await cb.chat.append({ userId: branchedUser, role: 'assistant', content: 'reply' });
  await cb.chat.setActiveLeaf({
    userId: branchedUser,
    conversationId: first.conversationId,
    messageId: first.id,
  });
  await exercise(0, CALLS);
}, 120_000);

afterAll(async () => {
  await database?.drop();
});

interface PreparedRow {
  name: string;
  statement: string;
  parameter_types: string;
  generic_plans: string;
  custom_plans: string;
}

/** The instance's prepared statements on its one connection. */
async function prepared(): Promise<PreparedRow[]> {
  const { rows } = await sql<PreparedRow>`select name, statement, parameter_types::text, generic_plans::text,
    custom_plans::text from pg_prepared_statements where name like 'carebase_%'`.execute(cb.db);
  return rows;
}

/** The one statement whose text contains every fragment (and none of those written `!fragment`). */
function find(rows: readonly PreparedRow[], ...fragments: string[]): PreparedRow {
  const found = rows.filter((row) =>
    fragments.every((fragment) =>
      fragment.startsWith('!')
        ? !row.statement.includes(fragment.slice(1))
        : row.statement.includes(fragment),
    ),
  );
  expect(found, fragments.join(' + ')).toHaveLength(1);
  return found[0] as PreparedRow;
}

const SHAPES: Record<string, string[]> = {
  'append into a conversation (lean)': ['with access as', '!leaf as', '!on conflict (user_id, client_id)'],
  'append into a conversation with a client id (lean)': [
    'with access as',
    '!leaf as',
    'on conflict (user_id, client_id)',
  ],
  'append into a branched conversation': ['with access as', 'leaf as', '!on conflict (user_id, client_id)'],
  'append into a branched conversation with a client id': [
    'with access as',
    'leaf as',
    'on conflict (user_id, client_id)',
  ],
  'append into the default conversation (lean)': [
    'with found as',
    '!leaf as',
    '!on conflict (user_id, client_id)',
  ],
  'append into the default conversation with a client id (lean)': [
    'with found as',
    '!leaf as',
    'on conflict (user_id, client_id)',
  ],
  'append into a branched default conversation': [
    'with found as',
    'leaf as',
    '!on conflict (user_id, client_id)',
  ],
  'append into a branched default conversation with a client id': [
    'with found as',
    'leaf as',
    'on conflict (user_id, client_id)',
  ],
  'a group of concurrent appends': [
    'with input (ord',
    'cross join lateral',
    '!usage_dirty as',
    '!on conflict (user_id, client_id)',
  ],
  'a group of concurrent appends with client ids': ['with input (ord', 'on conflict (user_id, client_id)'],
  'a group of concurrent appends with usage records': [
    'with input (ord',
    'usage_dirty as',
    '!on conflict (user_id, client_id)',
  ],
  'history of a conversation': ['row_number() over', 'conversation_id = $2::uuid'],
  'history of the default conversation': ['row_number() over', 'is_default)'],
  'latest of the default conversation': ['order by created_at desc, id desc limit 3'],
};

/** Every plan node of an EXPLAIN (FORMAT JSON) tree. */
function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(nodes)];
}

/** A literal for EXPLAIN EXECUTE of a parameter of type `type`. */
function literal(type: string): string {
  if (type.endsWith('[]')) return `'{}'`;
  if (type === 'uuid') return `'${userId}'`;
  if (type.startsWith('timestamp')) return `'2026-01-01T00:00:00Z'`;
  if (type === 'bigint' || type === 'integer' || type === 'numeric') return '5';
  if (type === 'regconfig') return `'english'`;
  if (type === 'jsonb') return 'null';
  if (type === 'boolean') return 'false';
  return `'user'`;
}

/** The statements the warm-up ran more than five times: every append, history and latest shape. */
async function hot(): Promise<PreparedRow[]> {
  const rows = (await prepared()).filter((row) => Number(row.custom_plans) + Number(row.generic_plans) > 5);
  // Each shape the warm-up exercised is among them, once.
  for (const fragments of Object.values(SHAPES)) find(rows, ...fragments);
  return rows;
}

describe('hot chat statements', () => {
  it('run on generic plans after warm-up', async () => {
    const before = await hot();
    expect(before.length).toBeGreaterThanOrEqual(Object.keys(SHAPES).length);
    // Ten more rounds after the warm-up: every call of every hot statement uses the generic plan
    // (PostgreSQL tries five custom plans first, and may try one more while costs are close).
    await exercise(CALLS, CALLS + 10);
    const after = new Map((await prepared()).map((row) => [row.name, row]));
    for (const row of before) {
      const now = after.get(row.name);
      expect({ statement: row.statement, custom: Number(now?.custom_plans) }).toEqual({
        statement: row.statement,
        custom: Number(row.custom_plans),
      });
      expect(Number(now?.generic_plans) - Number(row.generic_plans)).toBeGreaterThanOrEqual(10);
    }
  });

  it('never scan a table sequentially', async () => {
    for (const row of await hot()) {
      const types = row.parameter_types.replace(/^\{|\}$/g, '').split(',');
      const args = types.map((type) => literal(type.replace(/"/g, '').replace(/ with(out)? time zone/, '')));
      // EXPLAIN EXECUTE shows the generic plan (forced, in case the statement had not adopted it)
      // without running the statement: nothing is written.
      const rows = await cb.transaction(async (tx) => {
        await sql`set local plan_cache_mode = force_generic_plan`.execute(tx.db);
        const explained = await sql<{
          'QUERY PLAN': [{ Plan: Record<string, unknown> }];
        }>`explain (format json)
          execute ${sql.raw(row.name)}(${sql.raw(args.join(', '))})`.execute(tx.db);
        return explained.rows;
      });
      const plan = rows[0]?.['QUERY PLAN'][0].Plan as Record<string, unknown>;
      // chat_usage_rollup_state is a singleton (its primary key is `true`, migration 0041): the
      // usage statements' dirty-day mark reads its one row.
      const scans = nodes(plan)
        .filter((node) => node['Node Type'] === 'Seq Scan')
        .map((node) => node['Relation Name'])
        .filter((name) => name !== 'chat_usage_rollup_state');
      expect({ statement: row.statement, scans }).toEqual({ statement: row.statement, scans: [] });
    }
  });
});
