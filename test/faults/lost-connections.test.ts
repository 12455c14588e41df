import type { Readable } from 'node:stream';
import { type Carebase, type CarebaseError, createCarebase, isCarebaseError } from 'carebase';
import { createTestDatabase, startPostgres, type TestDatabase, type TestPostgres } from 'carebase/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CuttableProxy, startProxy } from './proxy.js';

// Connections lost at each moment of their life, on a private throwaway cluster: cut at the TCP
// level by a proxy (no PostgreSQL message, as in a failover or a partition) or terminated by the
// server (57P01). An unheard 'error' event would fail this file as an unhandled error.
let server: TestPostgres;
let database: TestDatabase;
let proxy: CuttableProxy;
let admin: pg.Client;
let userId: string;
let token: string;
const opened: Carebase[] = [];

beforeAll(async () => {
  server = await startPostgres({ provider: 'local' });
  database = await createTestDatabase({ serverUrl: server.url, spares: 0 });
  proxy = await startProxy(Number(new URL(server.url).port));
  admin = new pg.Client({ connectionString: database.url });
  admin.on('error', () => {});
  await admin.connect();
  const cb = database.db;
  userId = (
    await cb.users.create({
      username: 'lost',
      email: 'lost@example.org',
      password: 'correct horse battery staple',
      role: 'nurse',
    })
  ).id;
  token = (await cb.sessions.create({ userId })).token;
  // Enough to export that a stream is still reading when its connection is cut.
  const content = 'x'.repeat(2_000);
  await cb.chat.appendMany(Array.from({ length: 3_000 }, () => ({ userId, role: 'user' as const, content })));
  await admin.query(`insert into carebase.audit_log (occurred_at, actor_type, action, resource_type, metadata)
    select now() - interval '1 second', 'system', 'fault.seed', 'seed', jsonb_build_object('pad', repeat('y', 500))
    from generate_series(1, 5000)`);
  await cb.audit.seal();
}, 120_000);

afterEach(async () => {
  await admin.query('rollback').catch(() => {});
  for (const cb of opened.splice(0)) await cb.close();
});

afterAll(async () => {
  await admin?.end();
  await proxy?.close();
  await database?.drop();
  await server?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A carebase instance whose connections go through the proxy. */
function viaProxy(max: number, applicationName = 'carebase-fault-lost'): Carebase {
  const url = new URL(database.url);
  url.port = String(proxy.port);
  const cb = createCarebase({
    connectionString: url.toString(),
    pool: { min: 0, max, connectionTimeoutMs: 2_000, applicationName },
  });
  opened.push(cb);
  return cb;
}

async function failure(work: Promise<unknown>): Promise<CarebaseError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isCarebaseError(error), String(error)).toBe(true);
  return error as CarebaseError;
}

/** Waits until a backend of `applicationName` waits for a lock (the call is in flight). */
async function untilBlocked(applicationName: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query<{ pid: number }>(
      "select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
      [applicationName],
    );
    if (rows[0] !== undefined) return rows[0].pid;
    await sleep(20);
  }
  throw new Error('the call never blocked');
}

async function readAll(stream: Readable, cutAfterFirstChunk: () => void): Promise<unknown> {
  let first = true;
  try {
    for await (const _chunk of stream) {
      if (first) {
        first = false;
        cutAfterFirstChunk();
      }
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('a connection lost while idle in the pool', () => {
  it('is dropped without a sound, and the next call opens a new one', async () => {
    const cb = viaProxy(2);
    await cb.users.findById(userId);
    expect(cb.pool.idleCount).toBe(1);
    proxy.cutAll();
    await sleep(100);
    expect(cb.pool.totalCount).toBe(0);
    await expect(cb.users.findById(userId)).resolves.toMatchObject({ id: userId });
  });
});

describe("a connection of the host's own pool lost while idle", () => {
  it('does not crash the process either (carebase listens while it uses the pool)', async () => {
    const url = new URL(database.url);
    url.port = String(proxy.port);
    const pool = new pg.Pool({ connectionString: url.toString(), max: 2 }); // no 'error' listener
    const cb = createCarebase({}, { pool });
    try {
      await cb.users.findById(userId);
      proxy.cutAll();
      await sleep(100);
      await expect(cb.users.findById(userId)).resolves.toMatchObject({ id: userId });
    } finally {
      await cb.close();
      await pool.end();
    }
  });
});

describe('a connection lost while checked out', () => {
  it.each(['close', 'reset'] as const)(
    'with no call pending (%s): the next statement fails with CONNECTION_FAILED and the connection is discarded',
    async (how) => {
      const cb = viaProxy(1);
      const error = await failure(
        cb.transaction(async (tx) => {
          await tx.users.findById(userId);
          proxy.cutAll(how);
          await sleep(100); // the client emits 'error' now, with no query to fail
          await tx.users.findById(userId);
        }),
      );
      expect(error.code).toBe('CONNECTION_FAILED');
      expect(error).toMatchObject({ reason: 'server_closed' });
      await expect(cb.sessions.validate(token)).resolves.toMatchObject({ user: { id: userId } });
    },
  );

  it('mid-query on the prepared fast path (sessions.validate): CONNECTION_FAILED, not QUERY_FAILED', async () => {
    const cb = viaProxy(1, 'carebase-fault-validate');
    await cb.sessions.validate(token); // the connection is open before the table is locked
    await admin.query('begin');
    await admin.query('lock table carebase.sessions in access exclusive mode');
    const pending = failure(cb.sessions.validate(token));
    await untilBlocked('carebase-fault-validate');
    proxy.cutAll();
    const error = await pending;
    await admin.query('rollback');
    expect([error.code, (error as { reason?: string }).reason]).toEqual([
      'CONNECTION_FAILED',
      'server_closed',
    ]);
    await expect(cb.sessions.validate(token)).resolves.toMatchObject({ user: { id: userId } });
  });

  it('terminated by the server mid-query: the very next call gets a new connection, never the dead one', async () => {
    const cb = viaProxy(1, 'carebase-fault-terminated');
    await cb.sessions.validate(token); // the connection is open before the table is locked
    await admin.query('begin');
    await admin.query('lock table carebase.sessions in access exclusive mode');
    const pending = failure(cb.sessions.validate(token));
    const pid = await untilBlocked('carebase-fault-terminated');
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.query('rollback');
    const error = await pending;
    expect([error.code, (error as { reason?: string }).reason]).toEqual([
      'CONNECTION_FAILED',
      'server_closed',
    ]);
    // No pause: the server's 57P01 arrives before its socket closes, so a client released now
    // would still look usable to pg-pool.
    await expect(cb.sessions.validate(token)).resolves.toMatchObject({ user: { id: userId } });
  });

  it('mid-group (concurrent chat.append in one statement): terminated by the server: each caller gets CONNECTION_FAILED, none of the group is written', async () => {
    const cb = viaProxy(2, 'carebase-fault-group');
    const conversations: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { id } = await cb.chat.createConversation({ userId, title: `group ${i}` });
      await cb.chat.append({ userId, conversationId: id, role: 'user', content: 'warm' });
      conversations.push(id);
    }
    await admin.query('begin');
    await admin.query('lock table carebase.chat_messages in access exclusive mode');
    const pending = conversations.map((conversationId) =>
      failure(cb.chat.append({ userId, conversationId, role: 'user', content: 'cut in a group' })),
    );
    const pid = await untilBlocked('carebase-fault-group');
    // One statement carries the four appends: one backend waits.
    const { rows: waiting } = await admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where application_name = 'carebase-fault-group' and wait_event_type = 'Lock'",
    );
    expect(waiting[0]?.n).toBe(1);
    // Terminated, the backend rolls the group back. (Cut at the TCP level instead, a backend waiting
    // for a lock notices nothing: it commits once the lock is released, and the callers' outcome is
    // unknown, as for a single statement.)
    await admin.query('select pg_terminate_backend($1)', [pid]);
    const errors = await Promise.all(pending);
    await admin.query('rollback');
    for (const error of errors) {
      expect([error.code, (error as { reason?: string }).reason]).toEqual([
        'CONNECTION_FAILED',
        'server_closed',
      ]);
    }
    const { rows } = await admin.query<{ n: number }>(
      "select count(*)::int as n from carebase.chat_messages where content = 'cut in a group'",
    );
    expect(rows[0]?.n).toBe(0);
    const again = await Promise.all(
      conversations.map((conversationId) =>
        cb.chat.append({ userId, conversationId, role: 'user', content: 'after' }),
      ),
    );
    expect(again.map((m) => m.conversationId)).toEqual(conversations);
  });

  it('mid-COPY (analytics.trackMany): CONNECTION_FAILED, and the pool recovers', async () => {
    const cb = viaProxy(2, 'carebase-fault-copy');
    const events = Array.from({ length: 600 }, () => ({ eventType: 'fault', eventName: 'fault.copy' }));
    await cb.analytics.trackMany(events); // partitions exist: the next COPY only waits for the lock
    await admin.query('begin');
    await admin.query('lock table carebase.analytics_events in access exclusive mode');
    const pending = failure(cb.analytics.trackMany(events));
    await untilBlocked('carebase-fault-copy');
    proxy.cutAll();
    const error = await pending;
    await admin.query('rollback');
    expect(error.code).toBe('CONNECTION_FAILED');
    await expect(cb.analytics.trackMany(events)).resolves.toMatchObject({ inserted: 600 });
    expect(cb.pool.waitingCount).toBe(0);
  });

  it("between a cursor's last rows and ReadyForQuery: the read fails with CONNECTION_FAILED instead of waiting forever", async () => {
    const cb = viaProxy(1, 'carebase-fault-cursor-end');
    await cb.audit.log({ action: 'fault.warm', resourceType: 'fault' });
    // One batch holds every row: the server answers the cursor's Execute with the rows and
    // CommandComplete, then waits for the Sync that pg-cursor sends next. The cut falls there;
    // pg-cursor ignores a connection error once it has seen CommandComplete.
    const to = new Date();
    const stream = cb.audit.export({
      from: new Date(to.getTime() - 60_000),
      to,
      format: 'jsonl',
      batchSize: 10_000,
    });
    proxy.cutAfterCommandComplete();
    const started = performance.now();
    const error = await Promise.race([readAll(stream, () => {}), sleep(5_000).then(() => 'still waiting')]);
    expect(error).not.toBe('still waiting');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(isCarebaseError(error, 'CONNECTION_FAILED'), String(error)).toBe(true);
    await expect(cb.users.findById(userId)).resolves.toMatchObject({ id: userId });
  });

  it.each([
    [
      'audit.export (a cursor on a pooled connection)',
      (cb: Carebase) =>
        cb.audit.export({
          from: new Date(Date.now() - 86_400_000),
          to: new Date(),
          format: 'jsonl',
          batchSize: 10,
        }),
    ],
    [
      'chat.export (a cursor in a transaction)',
      (cb: Carebase) => cb.chat.export({ userId, format: 'jsonl' }),
    ],
  ])(
    'mid-cursor (%s): the stream fails with CONNECTION_FAILED at once, and the connection is discarded',
    async (_name, open) => {
      const cb = viaProxy(1);
      proxy.cutAll();
      await sleep(50);
      const removed: unknown[] = [];
      cb.pool.on('remove', (client) => removed.push(client));
      const started = performance.now();
      const error = await readAll(open(cb), () => proxy.cutAll());
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(isCarebaseError(error, 'CONNECTION_FAILED'), String(error)).toBe(true);
      await sleep(50);
      // The dead connection left the pool (the one there now may be a background sealing pass's).
      expect(removed).toHaveLength(1);
      expect(cb.pool.waitingCount).toBe(0);
      await expect(cb.users.findById(userId)).resolves.toMatchObject({ id: userId });
    },
  );
});
