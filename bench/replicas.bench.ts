import { randomInt } from 'node:crypto';
import { createCarebase } from 'carebase';
import { createTestDatabase, startPostgres } from 'carebase/testing';
import { record, throughput } from './harness.ts';

const USERS = 20;
const MESSAGES = 500;
const CONCURRENCY = 8;

/**
 * `chat.history` with a read replica (a streaming standby on loopback, read-your-writes on) vs the
 * same instance options without replicas (primary only), at 8 concurrent. In the report, the
 * "carebase" column is with the replica and the "raw pg" column is primary-only carebase: the ratio
 * is what routing costs or gains. Both servers share this machine's cores, so a replica adds no
 * capacity here: the ratio measures routing overhead, not scale-out. A second row runs
 * write-then-read pairs (append, then the newest page), where every read waits for its own write
 * to be replayed; its note gives the p95 of that wait.
 */
export default async function run(): Promise<void> {
  const server = await startPostgres({ provider: 'local', replicas: 1, log: false });
  const standby = server.replicas[0];
  if (standby === undefined) throw new Error('bench setup: no standby');
  const database = await createTestDatabase({ serverUrl: server.url, spares: 0, role: 'app' });
  const replicaUrl = new URL(database.url);
  replicaUrl.port = new URL(standby.url).port;
  const primaryOnly = createCarebase({ connectionString: database.url, pool: { max: CONCURRENCY } });
  const withReplica = createCarebase({
    connectionString: database.url,
    pool: { max: CONCURRENCY },
    replicas: [replicaUrl.toString()],
  });
  try {
    const userIds: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const user = await primaryOnly.db
        .insertInto('users')
        .values({
          username: `bench_${i}`,
          email: `bench_${i}@example.org`,
          password_hash: 'x',
          role: 'nurse',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      userIds.push(user.id);
      await primaryOnly.chat.appendMany(
        Array.from({ length: MESSAGES }, (_, n) => ({
          userId: user.id,
          role: 'user' as const,
          content: `message ${n}`,
        })),
      );
    }
    const deadline = Date.now() + 20_000;
    while ((await withReplica.health()).replicas[0]?.state !== 'ready') {
      if (Date.now() > deadline) throw new Error('bench setup: the standby never came into rotation');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const user = () => userIds[randomInt(0, userIds.length)] as string;
    const before = (await withReplica.health()).replicas[0];
    await throughput({
      name: `chat.history (50 of ${MESSAGES}) with a replica (carebase column) vs primary only (raw pg column)`,
      concurrency: CONCURRENCY,
      carebase: () => withReplica.chat.history({ userId: user(), limit: 50 }),
      raw: () => primaryOnly.chat.history({ userId: user(), limit: 50 }),
    });
    const pair = async (cb: typeof withReplica): Promise<void> => {
      const userId = user();
      const message = await cb.chat.append({ userId, role: 'user', content: 'write then read' });
      const page = await cb.chat.history({ userId, limit: 1, order: 'desc' });
      // Another worker may have appended for the same user since: newer is fine, older is stale.
      const newest = page.items[0];
      if (newest === undefined || newest.createdAt < message.createdAt) {
        throw new Error('bench: a read missed its own write');
      }
    };
    const row = await throughput({
      name: 'append + history (read-your-writes) with a replica (carebase column) vs primary only (raw pg column)',
      concurrency: CONCURRENCY,
      carebase: () => pair(withReplica),
      raw: () => pair(primaryOnly),
    });
    const health = await withReplica.health();
    const after = health.replicas[0];
    const served = (after?.reads ?? 0) - (before?.reads ?? 0);
    const fellBack = (after?.fallbacks ?? 0) - (before?.fallbacks ?? 0);
    record({
      ...row,
      name: 'append + history: replica share and LSN wait',
      note: `${served} reads on the replica, ${fellBack} fell back to the primary, LSN wait p95 ${health.replicaWaitP95Ms ?? '-'} ms; loaded machine, 2 cores shared by both servers`,
    });
  } finally {
    await withReplica.close();
    await primaryOnly.close();
    await database.drop();
    await server.stop();
  }
}
