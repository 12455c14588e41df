import { ConflictError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;
const ADMIN = '00000000-0000-4000-8000-00000000a0a0';

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database);
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

async function actions(id: string) {
  return env.cb.db
    .selectFrom('audit_log')
    .select(['action', 'outcome', 'outcome_detail', 'actor_user_id'])
    .where('resource_id', '=', id)
    .orderBy('id')
    .execute();
}

describe('account lifecycle', () => {
  it('register -> pending login refused -> approve -> login, audited as register and approve (no deactivate)', async () => {
    const account = newAccount();
    const user = await env.cb.users.register({ email: account.email, password: account.password });
    expect(user).toMatchObject({ status: 'pending', username: null, role: 'viewer', approvedAt: null });
    expect(await env.cb.users.authenticate({ login: account.email, password: account.password })).toEqual({
      ok: false,
      reason: 'pending_approval',
    });
    await expect(env.cb.sessions.create({ userId: user.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const approved = await env.cb.withActor({ userId: ADMIN }).users.approve(user.id);
    expect(approved.status).toBe('active');
    expect(approved.approvedAt).toEqual(env.clock.now());
    const login = await env.cb.users.authenticate({
      login: account.email.toUpperCase(),
      password: account.password,
    });
    expect(login.ok).toBe(true);
    const trail = await actions(user.id);
    expect(trail.map((row) => row.action)).toEqual([
      'user.register',
      'user.login',
      'user.approve',
      'user.login',
    ]);
    expect(trail.find((row) => row.action === 'user.approve')?.actor_user_id).toBe(ADMIN);
    expect(trail.some((row) => row.action === 'user.deactivate' || row.action === 'session.revoke_all')).toBe(
      false,
    );
  });

  it('a pending or rejected account is revealed only to the right password', async () => {
    const account = newAccount();
    const user = await env.cb.users.register(account);
    const wrong = await env.cb.users.authenticate({
      login: account.username,
      password: 'not the password at all',
    });
    expect(wrong).toEqual({ ok: false, reason: 'invalid_credentials' });
    await env.cb.withActor({ userId: ADMIN }).users.reject(user.id, { reason: 'not on the staff roster' });
    expect(
      await env.cb.users.authenticate({ login: account.username, password: 'still not the password' }),
    ).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await env.cb.users.authenticate({ login: account.username, password: account.password })).toEqual({
      ok: false,
      reason: 'rejected',
    });
    const found = await env.cb.users.getById(user.id);
    expect(found.status).toBe('disabled');
    expect(found.rejectedAt).not.toBeNull();
    const reject = (await actions(user.id)).find((row) => row.action === 'user.reject');
    expect(reject?.actor_user_id).toBe(ADMIN);
  });

  it('auto-approve, reject only pending, approve not a deactivated account', async () => {
    const auto = await env.cb.users.register(newAccount(), { autoApprove: true });
    expect(auto.status).toBe('active');
    expect((await env.cb.users.approve(auto.id)).status).toBe('active'); // idempotent
    await expect(env.cb.users.reject(auto.id)).rejects.toBeInstanceOf(ConflictError);
    await env.cb.users.deactivate(auto.id);
    await expect(env.cb.users.approve(auto.id)).rejects.toBeInstanceOf(ConflictError);
    await expect(env.cb.users.register({ ...newAccount(), role: 'superuser' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(env.cb.users.reject(auto.id, { reason: 'x'.repeat(501) })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('an email-only account is valid and logs in with its email', async () => {
    const account = newAccount();
    const user = await env.cb.users.create({
      email: account.email,
      password: account.password,
      role: 'nurse',
    });
    expect(user.username).toBeNull();
    const again = await env.cb.users.create({
      email: `other.${account.email}`,
      password: account.password,
      role: 'nurse',
    });
    expect(again.username).toBeNull();
    const login = await env.cb.users.authenticate({ login: account.email, password: account.password });
    expect(login.ok && login.user.id).toBe(user.id);
  });
});
