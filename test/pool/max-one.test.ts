import { randomUUID } from 'node:crypto';
import { type CarebaseScope, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Never a second connection inside a transaction: with a pool of ONE connection, any call that
// needs a second one while it (or its transaction) holds the first waits for itself until
// POOL_TIMEOUT. The whole API must therefore work with `pool: { max: 1 }`, under concurrency.
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of stream) {
    // read to the end
  }
}

/** A representative call of every repository, on `scope` (the instance, or a transaction). */
async function everyRepository(scope: CarebaseScope, tag: string): Promise<void> {
  const password = 'correct horse battery staple';
  const user = await scope.users.create({
    username: `one_${tag}`,
    email: `one.${tag}@example.org`,
    password,
    role: 'nurse',
  });
  expect(await scope.users.authenticate({ login: `one_${tag}`, password })).toMatchObject({ ok: true });
  await scope.users.update(user.id, { displayName: `One ${tag}` });

  const { token, session } = await scope.sessions.create({ userId: user.id });
  expect(await scope.sessions.validate(token)).toMatchObject({ user: { id: user.id } });
  expect(await scope.sessions.revoke(session.id)).toBe(true);

  const conversation = await scope.chat.createConversation({ userId: user.id, title: 'max one' });
  await scope.chat.append({
    userId: user.id,
    conversationId: conversation.id,
    role: 'user',
    content: `pressure ulcer ${tag}`,
    id: `m-${tag}`,
  });
  expect((await scope.chat.history({ userId: user.id, conversationId: conversation.id })).items).toHaveLength(
    1,
  );
  await scope.chat.search({ userId: user.id, query: 'ulcer' });
  // A bad reference is explained on the same connection (inside a transaction: in a savepoint,
  // so the transaction goes on).
  await expect(
    scope.chat.append({ userId: user.id, conversationId: randomUUID(), role: 'user', content: 'lost' }),
  ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  await drain(scope.chat.export({ userId: user.id, format: 'jsonl' }));

  await scope.audit.log({ action: 'max.one', resourceType: 'test', resourceId: tag });
  await scope.audit.query({ resourceType: 'test', limit: 5 });
  expect(await scope.audit.verify()).toMatchObject({ ok: true });
  await scope.audit.seal();
  await drain(
    scope.audit.export({
      from: new Date(Date.now() - 60_000),
      to: new Date(Date.now() + 60_000),
      format: 'csv',
    }),
  );

  await scope.analytics.track({ userId: user.id, eventType: 'feature', eventName: 'max.one' });
  await scope.analytics.trackMany(
    Array.from({ length: 3 }, () => ({ userId: user.id, eventType: 'feature', eventName: 'max.many' })),
  );
  await scope.analytics.summary({
    from: new Date(Date.now() - 3_600_000),
    to: new Date(Date.now() + 60_000),
  });

  expect(await scope.users.exportData(user.id)).toMatchObject({ user: { id: user.id } });
  await scope.users.erase(user.id);
}

describe('a pool of one connection', () => {
  it('runs every repository, at the root and inside transactions, 10 at a time, to completion', async () => {
    const cb = createCarebase({
      connectionString: database.url,
      // Waits are expected (one connection serves 10 callers); a deadlock would end in POOL_TIMEOUT.
      pool: { max: 1, connectionTimeoutMs: 20_000 },
      users: { bcryptCost: 10 },
    });
    try {
      const runs = Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? everyRepository(cb, `root${i}`) : cb.transaction((tx) => everyRepository(tx, `tx${i}`)),
      );
      const outcomes = await Promise.allSettled(runs);
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      expect(cb.pool.totalCount).toBeLessThanOrEqual(1);
    } finally {
      await cb.close();
    }
  }, 90_000);

  // The first audit write of an instance (its partition check) runs on the caller's connection.
  it('runs an audited write inside a transaction on a fresh instance', async () => {
    const cb = createCarebase({
      connectionString: database.url,
      pool: { max: 1, connectionTimeoutMs: 2_000 },
      users: { bcryptCost: 10 },
    });
    try {
      await cb.transaction((tx) => tx.audit.log({ action: 'max.cold', resourceType: 'test' }));
    } finally {
      await cb.close();
    }
  });
});
