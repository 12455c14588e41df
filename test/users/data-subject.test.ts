import { NotFoundError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database);
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

describe('users.exportData and users.erase', () => {
  it('exports profile, sessions without tokens and audit entries about the user', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    await env.cb.users.authenticate({
      login: account.username,
      password: account.password,
      ip: '192.0.2.44',
    });
    const { token } = await env.cb.sessions.create({ userId: user.id });
    const exported = await env.cb.users.exportData(user.id);
    expect(exported.user.id).toBe(user.id);
    expect(exported.sessions).toHaveLength(1);
    expect(exported.audit.map((entry) => entry.action)).toEqual([
      'user.create',
      'user.login',
      'session.create',
    ]);
    const json = JSON.stringify(exported);
    expect(json).not.toContain(token);
    expect(json).not.toMatch(/\$2[aby]\$/);
    expect(json).not.toContain('token_hash');
    expect(json).not.toContain(account.password);
    const logged = await env.cb.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'user.export')
      .where('resource_id', '=', user.id)
      .execute();
    expect(logged).toHaveLength(1);
    await expect(env.cb.users.exportData('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('erases the account and its sessions; audit entries keep only the uuid; the erasure is audited', async () => {
    const account = newAccount();
    const admin = await env.cb.users.create(newAccount('admin'));
    const user = await env.cb.users.create({ ...account, displayName: 'Erin Erasable' });
    await env.cb.users.authenticate({ login: account.email, password: account.password });
    const { token } = await env.cb.sessions.create({ userId: user.id });
    await env.cb.sessions.create({ userId: user.id });
    const result = await env.cb.withActor({ userId: admin.id }).users.erase(user.id);
    expect(result).toMatchObject({ userId: user.id, sessions: 2 });
    expect(await env.cb.users.findById(user.id)).toBeUndefined();
    expect(await env.cb.sessions.validate(token)).toBeUndefined();
    const sessions = await env.cb.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(sessions).toHaveLength(0);
    const entries = await env.cb.db
      .selectFrom('audit_log')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('resource_id', '=', user.id),
          eb('subject_id', '=', user.id),
          eb('actor_user_id', '=', user.id),
        ]),
      )
      .execute();
    expect(entries.map((entry) => entry.action)).toContain('user.erase');
    expect(entries.find((entry) => entry.action === 'user.erase')?.actor_user_id).toBe(admin.id);
    const everything = JSON.stringify(await env.cb.db.selectFrom('audit_log').selectAll().execute());
    for (const personal of [account.username, account.email, 'Erin Erasable'])
      expect(everything).not.toContain(personal);
    await expect(env.cb.users.erase(user.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});
