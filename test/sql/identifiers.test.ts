import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every statement carebase writes by hand quotes the schema name. `user` is a reserved word: an
 * unquoted `user.audit_log` or `user.audit_seal()` is a syntax error (or `current_user`), so each
 * raw path below fails if it skipped the one quoting helper.
 */
const schema = 'user';
let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({ schema });
  cb = createCarebase({
    connectionString: database.url,
    schema,
    analytics: { copyThreshold: 2, autoRefreshIntervalMs: 0 },
    users: { bcryptCost: 10 },
  });
});

function createUser(username: string) {
  return cb.users.create({
    username,
    email: `${username}@example.org`,
    password: 'correct horse battery',
    role: 'nurse',
  });
}

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

describe('a reserved word as the carebase schema', () => {
  it('migrates and reports no pending migration', async () => {
    await cb.migrate();
    expect((await cb.health()).pendingMigrations).toBe(0);
  });

  it('runs the hand-written statements of users, sessions and audit', async () => {
    const user = await createUser('quoted');
    const { token } = await cb.sessions.create({ userId: user.id });
    expect((await cb.sessions.validate(token))?.user.id).toBe(user.id);
    await cb.transaction((tx) => tx.audit.log({ action: 'chart.view', resourceType: 'chart' }));
    await cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
    expect(await cb.audit.seal()).toBeGreaterThanOrEqual(0);
    expect(await cb.audit.verify()).toMatchObject({ ok: true });
    expect((await cb.audit.applyRetention()).droppedMonths).toEqual([]);
  });

  it('runs the hand-written statements of chat and analytics', async () => {
    const user = await createUser('chatter');
    await cb.chat.append({ userId: user.id, role: 'user', content: 'quoted schema names' });
    expect((await cb.chat.history({ userId: user.id })).items).toHaveLength(1);
    expect((await cb.chat.search({ userId: user.id, query: 'quoted' })).items).toHaveLength(1);
    await cb.analytics.track({ userId: user.id, eventType: 'feature', eventName: 'quoted.one' });
    const events = [1, 2, 3].map(() => ({ userId: user.id, eventType: 'feature', eventName: 'quoted.many' }));
    expect((await cb.analytics.trackMany(events)).inserted).toBe(3);
  });
});
