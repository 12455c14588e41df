import { type Carebase, createCarebase, type ReplicaHealth, type ReplicaState } from 'carebase';
import { createTestDatabase, startPostgres, type TestDatabase, type TestPostgres } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccount } from '../support/users.js';

// A real primary and a streaming hot standby (pg_basebackup -R) on loopback: stale-tolerant reads
// go to the standby, a caller always sees its own writes, and a standby that stops, restarts,
// lags or is promoted leaves rotation without a single read failing.

/** `url` with its port replaced by `port`'s (the standby's: same host, roles and databases). */
function onPort(url: string, portOf: string): string {
  const target = new URL(url);
  target.port = new URL(portOf).port;
  return target.toString();
}

async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

async function replicaHealth(cb: Carebase): Promise<ReplicaHealth> {
  const [replica] = (await cb.health()).replicas;
  if (replica === undefined) throw new Error('no replica in health()');
  return replica;
}

/** Polls health() until the replica is in one of `states` (fails after `timeoutMs`). */
async function until(
  cb: Carebase,
  states: readonly ReplicaState[],
  timeoutMs = 20_000,
): Promise<ReplicaHealth> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const replica = await replicaHealth(cb);
    if (states.includes(replica.state)) return replica;
    if (Date.now() > deadline) throw new Error(`replica still ${replica.state}, wanted ${states.join('|')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('read replicas with read-your-writes', () => {
  let server: TestPostgres;
  let database: TestDatabase;
  let standbyUrl: string;
  let cb: Carebase;
  let userId: string;
  let conversationId: string;
  const opened: Carebase[] = [];

  const open = (options: Parameters<typeof createCarebase>[0] = {}): Carebase => {
    const instance = createCarebase({
      connectionString: database.url,
      replicas: [onPort(database.url, standbyUrl)],
      replicaReads: { checkIntervalMs: 50, maxLagMs: 400 },
      users: { bcryptCost: 10 },
      ...options,
    });
    opened.push(instance);
    return instance;
  };

  /** The newest message of the test conversation, as `reader` sees it. */
  const newest = async (reader: Carebase): Promise<string | undefined> => {
    const page = await reader.chat.history({ userId, conversationId, order: 'desc', limit: 1 });
    return page.items[0]?.content;
  };

  /**
   * An instance with generous lag and wait limits, for tests about routing: on a loaded machine
   * the replay can lag past 400 ms or a read's wait time out, which sends that read to the primary
   * (the lag and timeout behaviour has tests of its own).
   */
  const patient = async (): Promise<Carebase> => {
    const instance = open({
      replicaReads: { checkIntervalMs: 50, maxLagMs: 30_000, readYourWritesTimeoutMs: 30_000 },
    });
    await until(instance, ['ready']);
    return instance;
  };

  beforeAll(async () => {
    server = await startPostgres({ provider: 'local', replicas: 1, log: false });
    standbyUrl = server.replicas[0]?.url ?? '';
    database = await createTestDatabase({ serverUrl: server.url, spares: 0, role: 'app' });
    cb = open();
    const user = await cb.users.create(newAccount());
    userId = user.id;
    conversationId = (await cb.chat.createConversation({ userId, title: 'replicas' })).id;
    await until(cb, ['ready']);
  }, 120_000);

  afterAll(async () => {
    for (const instance of opened) await instance.close();
    await database?.drop().catch(() => {});
    await server?.stop();
  }, 60_000);

  it('sends history reads to the standby: a write it has not replayed is not seen there', async () => {
    await cb.chat.append({ userId, conversationId, role: 'user', content: 'replayed' });
    expect(await newest(cb)).toBe('replayed');
    const before = (await replicaHealth(cb)).reads;
    // Writes the instance does not know of are not waited for: with replay paused, the standby
    // (and so carebase's read) still shows the old newest message, while the primary has the new one.
    await query(standbyUrl, 'select pg_wal_replay_pause()');
    try {
      await query(
        database.url,
        `insert into carebase.chat_messages (user_id, conversation_id, role, content)
        values ('${userId}', '${conversationId}', 'user', 'written behind carebase')`,
      );
      expect(await newest(cb)).toBe('replayed');
      const [primary] = await query<{ content: string }>(
        database.url,
        `select content from carebase.chat_messages where conversation_id = '${conversationId}' order by created_at desc, id desc limit 1`,
      );
      expect(primary?.content).toBe('written behind carebase');
    } finally {
      await query(standbyUrl, 'select pg_wal_replay_resume()');
    }
    expect((await replicaHealth(cb)).reads).toBeGreaterThan(before);
    await until(cb, ['ready']);
    // Once replay resumes, the standby catches up with the write carebase did not make.
    const deadline = Date.now() + 10_000;
    while ((await newest(cb)) !== 'written behind carebase' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await newest(cb)).toBe('written behind carebase');
  });

  it('a write then an immediate read sees the write: 0 stale in 1,000 pairs, most served by the standby', async () => {
    const before = await replicaHealth(cb);
    let stale = 0;
    for (let i = 0; i < 1000; i++) {
      const content = `pair ${i}`;
      await cb.chat.append({ userId, conversationId, role: 'user', content });
      if ((await newest(cb)) !== content) stale++;
    }
    const after = await replicaHealth(cb);
    expect(stale).toBe(0);
    // Loopback replay takes well under the 200 ms wait: the standby serves nearly every read.
    expect(after.reads - before.reads).toBeGreaterThan(900);
    const report = await cb.health();
    expect(report.replicaWaitP95Ms).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('a scope (withActor) sees its own writes too; writes of another instance are not waited for', async () => {
    const scoped = cb.withActor({ userId });
    await scoped.chat.append({ userId, conversationId, role: 'user', content: 'scoped write' });
    expect(await scoped.chat.history({ userId, conversationId, order: 'desc', limit: 1 })).toMatchObject({
      items: [{ content: 'scoped write' }],
    });
  });

  it('with replay paused, a read after a write waits readYourWritesTimeoutMs and then reads on the primary', async () => {
    await query(standbyUrl, 'select pg_wal_replay_pause()');
    try {
      await cb.chat.append({ userId, conversationId, role: 'user', content: 'while paused' });
      // Without the wait the read would be stale: the standby does not have the write.
      const [onStandby] = await query<{ content: string }>(
        onPort(database.url, standbyUrl),
        `select content from carebase.chat_messages where conversation_id = '${conversationId}' order by created_at desc, id desc limit 1`,
      );
      expect(onStandby?.content).not.toBe('while paused');
      const fallbacks = (await replicaHealth(cb)).fallbacks;
      const started = performance.now();
      expect(await newest(cb)).toBe('while paused');
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(2_000);
      expect((await replicaHealth(cb)).fallbacks).toBe(fallbacks + 1);
      // readYourWritesTimeoutMs: 0 goes to the primary at once.
      const impatient = open({ replicaReads: { readYourWritesTimeoutMs: 0, checkIntervalMs: 50 } });
      await until(impatient, ['ready', 'lagging']);
      await impatient.chat.append({ userId, conversationId, role: 'user', content: 'impatient' });
      const quick = performance.now();
      expect(await newest(impatient)).toBe('impatient');
      expect(performance.now() - quick).toBeLessThan(150);
    } finally {
      await query(standbyUrl, 'select pg_wal_replay_resume()');
    }
    await until(cb, ['ready']);
  });

  it('a not-found on the standby (a row another process wrote, not replayed yet) is asked of the primary', async () => {
    const other = (await query<{ id: string }>(database.url, 'select gen_random_uuid() as id'))[0]?.id ?? '';
    await query(standbyUrl, 'select pg_wal_replay_pause()');
    try {
      // Written behind carebase's back: the instance does not wait for it.
      await query(
        database.url,
        `insert into carebase.conversations (id, user_id, title) values ('${other}', '${userId}', 'elsewhere')`,
      );
      const reads = (await replicaHealth(cb)).reads;
      const page = await cb.chat.history({ userId, conversationId: other });
      expect(page.items).toEqual([]);
      expect((await replicaHealth(cb)).reads).toBe(reads);
    } finally {
      await query(standbyUrl, 'select pg_wal_replay_resume()');
    }
    await until(cb, ['ready']);
  });

  it('a standby paused past maxLagMs leaves rotation, and comes back once it catches up', async () => {
    await query(standbyUrl, 'select pg_wal_replay_pause()');
    try {
      await cb.chat.append({ userId, conversationId, role: 'user', content: 'lagging' });
      const lagging = await until(cb, ['lagging']);
      expect(lagging.inRotation).toBe(false);
      expect(lagging.lagMs).toBeGreaterThan(400);
      const { reads, fallbacks } = lagging;
      expect(await newest(cb)).toBe('lagging');
      const after = await replicaHealth(cb);
      // Out of rotation: neither read nor waited for.
      expect([after.reads, after.fallbacks]).toEqual([reads, fallbacks]);
    } finally {
      await query(standbyUrl, 'select pg_wal_replay_resume()');
    }
    const back = await until(cb, ['ready']);
    expect(back.lagMs).toBeLessThanOrEqual(400);
  });

  it('transactions, writes and session validation stay on the primary', async () => {
    const reads = (await replicaHealth(cb)).reads;
    await cb.transaction(async (tx) => {
      await tx.chat.append({ userId, conversationId, role: 'user', content: 'in a transaction' });
      // Uncommitted: only the transaction's own connection (the primary) can see it.
      expect(await newest(tx as Carebase)).toBe('in a transaction');
    });
    const { token } = await cb.sessions.create({ userId });
    expect((await cb.sessions.validate(token))?.user.id).toBe(userId);
    expect((await replicaHealth(cb)).reads).toBe(reads);
  });

  it('analytics summaries and audit queries read on the standby and see the caller’s writes', async () => {
    const routed = await patient();
    const from = new Date(Date.now() - 3_600_000);
    const to = new Date(Date.now() + 3_600_000);
    const reads = (await replicaHealth(routed)).reads;
    await routed.analytics.track({ userId, eventType: 'feature', eventName: 'replica.test' });
    const summary = await routed.analytics.summary({ from, to });
    expect(summary.byEvent.some((event) => event.eventName === 'replica.test')).toBe(true);
    await routed.audit.log({ action: 'replica.check', resourceType: 'test', userId });
    const page = await routed.audit.query({ action: 'replica.check' });
    expect(page.items).toHaveLength(1);
    expect((await routed.audit.verify()).ok).toBe(true);
    expect((await replicaHealth(routed)).reads).toBeGreaterThanOrEqual(reads + 3);
  });

  it('exports stream from the standby and include the caller’s last write', async () => {
    const routed = await patient();
    await routed.chat.append({ userId, conversationId, role: 'user', content: 'last before export' });
    const reads = (await replicaHealth(routed)).reads;
    let text = '';
    for await (const chunk of routed.chat.export({ userId, conversationId, format: 'jsonl' })) text += chunk;
    expect(text).toContain('last before export');
    let audit = '';
    const from = new Date(Date.now() - 3_600_000);
    const to = new Date(Date.now() + 60_000);
    for await (const chunk of routed.audit.export({ from, to, format: 'jsonl' })) audit += chunk;
    expect(audit).toContain('chat.export');
    expect((await replicaHealth(routed)).reads).toBe(reads + 2);
  });

  it('reads keep working (0 errors) while the standby restarts, and it comes back into rotation', async () => {
    const standby = server.replicas[0];
    if (standby === undefined) throw new Error('no standby');
    let errors = 0;
    let reads = 0;
    let stop = false;
    const load = (async () => {
      let i = 0;
      while (!stop) {
        const content = `restart ${i++}`;
        try {
          await cb.chat.append({ userId, conversationId, role: 'user', content });
          if ((await newest(cb)) !== content) errors++;
          reads++;
        } catch {
          errors++;
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await standby.restart({ mode: 'immediate' });
    await until(cb, ['ready']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await load;
    expect(errors).toBe(0);
    expect(reads).toBeGreaterThan(10);
  }, 60_000);

  it('after promotion the old standby leaves rotation and no read is older than the caller’s last write', async () => {
    const standby = server.replicas[0];
    if (standby === undefined) throw new Error('no standby');
    await standby.promote();
    let stale = 0;
    for (let i = 0; i < 50; i++) {
      const content = `after promotion ${i}`;
      await cb.chat.append({ userId, conversationId, role: 'user', content });
      if ((await newest(cb)) !== content) stale++;
    }
    expect(stale).toBe(0);
    const promoted = await until(cb, ['promoted']);
    expect(promoted.inRotation).toBe(false);
    // Writes never went to it: the promoted node does not have them.
    const [row] = await query<{ n: string }>(
      onPort(database.url, standbyUrl),
      `select count(*) as n from carebase.chat_messages where content like 'after promotion %'`,
    );
    expect(Number(row?.n)).toBe(0);
  });

  it('a stopped standby is down; reads succeed on the primary and health() says why', async () => {
    await server.replicas[0]?.stop();
    const fresh = open();
    const down = await until(fresh, ['down']);
    expect(down.inRotation).toBe(false);
    expect(down.error?.code).toBe('CONNECTION_FAILED');
    expect(JSON.stringify(down)).not.toContain(new URL(database.url).password);
    await fresh.chat.append({ userId, conversationId, role: 'user', content: 'standby gone' });
    expect(await newest(fresh)).toBe('standby gone');
    const report = await fresh.health();
    expect(report.ok).toBe(true);
  });
});
