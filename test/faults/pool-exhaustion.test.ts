import { type Carebase, createCarebase, isCarebaseError } from 'carebase';
import { createTestDatabase, startPostgres, type TestDatabase, type TestPostgres } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A private throwaway cluster (the fault suite never runs on the shared server).
let server: TestPostgres;
let database: TestDatabase;
let userId: string;
let token: string;

beforeAll(async () => {
  server = await startPostgres({ provider: 'local' });
  database = await createTestDatabase({ serverUrl: server.url, spares: 0 });
  const user = await database.db.users.create({
    username: 'exhausted',
    email: 'exhausted@example.org',
    password: 'correct horse battery staple',
    role: 'nurse',
  });
  userId = user.id;
  token = (await database.db.sessions.create({ userId })).token;
  await database.db.chat.append({ userId, role: 'user', content: 'hello' });
}, 120_000);

afterAll(async () => {
  await database?.drop();
  await server?.stop();
});

async function backends(applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: server.url });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where application_name = $1',
      [applicationName],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of stream) {
    // read to the end
  }
}

/** One call of every path that checks out a connection its own way. */
function everyPath(cb: Carebase): Array<[string, () => Promise<unknown>]> {
  const from = new Date(Date.now() - 60_000);
  const to = new Date(Date.now() + 60_000);
  return [
    ['users.findById (Kysely)', () => cb.users.findById(userId)],
    ['sessions.validate (prepared statement)', () => cb.sessions.validate(token)],
    ['audit.log (group insert)', () => cb.audit.log({ action: 'pool.test', resourceType: 'pool' })],
    ['analytics.track', () => cb.analytics.track({ eventType: 'pool', eventName: 'pool.track' })],
    [
      'analytics.trackMany (COPY)',
      () =>
        cb.analytics.trackMany(
          Array.from({ length: 600 }, () => ({ eventType: 'pool', eventName: 'pool.bulk' })),
        ),
    ],
    ['audit.export (cursor)', () => drain(cb.audit.export({ from, to, format: 'jsonl' }))],
    ['chat.export (controlled transaction)', () => drain(cb.chat.export({ userId, format: 'jsonl' }))],
    ['transaction', () => cb.transaction((tx) => tx.users.findById(userId))],
    [
      'health (migration status)',
      async () => {
        const report = await cb.health();
        if (report.error !== undefined) throw Object.assign(new Error('health'), { code: report.error.code });
      },
    ],
  ];
}

describe('an exhausted pool', () => {
  it('fails every waiting call with POOL_TIMEOUT, whichever path, even while connections are still opening, and leaks no backend', async () => {
    const applicationName = 'carebase-fault-exhaustion';
    const cb = createCarebase({
      connectionString: database.url,
      pool: { min: 0, max: 2, connectionTimeoutMs: 300, applicationName },
    });
    // Both connections are taken by long transactions; every other call starts at the same
    // moment, while those two connections are still being opened.
    const holders = [1, 2].map(() =>
      cb.transaction(async (tx) => {
        await sql`select pg_sleep(1.5)`.execute(tx.db);
      }),
    );
    // pg-pool counts a connection from the moment it starts opening it.
    while (cb.pool.totalCount < 2) await new Promise((resolve) => setImmediate(resolve));
    const clients = (cb.pool as unknown as { _clients: { _connected?: boolean }[] })._clients;
    const stillOpening = clients.filter((client) => client._connected !== true).length;
    const paths = everyPath(cb);
    const outcomes = await Promise.allSettled(paths.map(([, call]) => call()));
    await Promise.all(holders);
    const codes = Object.fromEntries(
      outcomes.map((outcome, index) => [
        paths[index]?.[0],
        outcome.status === 'fulfilled'
          ? 'ok'
          : isCarebaseError(outcome.reason)
            ? outcome.reason.code
            : String((outcome.reason as { code?: unknown }).code ?? outcome.reason),
      ]),
    );
    expect(codes).toEqual(Object.fromEntries(paths.map(([name]) => [name, 'POOL_TIMEOUT'])));
    expect(stillOpening).toBeGreaterThan(0);
    // The pool is whole again: every path works once connections are free.
    for (const [name, call] of paths) await expect(call(), name).resolves.not.toThrow();
    expect(cb.pool.totalCount).toBeLessThanOrEqual(2);
    expect(cb.pool.waitingCount).toBe(0);
    await cb.close();
    expect(await backends(applicationName)).toBe(0);
  }, 30_000);
});
