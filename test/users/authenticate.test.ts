import bcrypt from 'bcrypt';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bcryptPart, carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database, {
    users: { bcryptCost: 10, lockout: { maxFailures: 5, durationMs: 15 * 60_000 } },
  });
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

async function lockState(id: string): Promise<{ failed_login_count: number; locked_until: Date | null }> {
  return env.cb.db
    .selectFrom('users')
    .select(['failed_login_count', 'locked_until'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

async function auditRows(id: string, action: string) {
  return env.cb.db
    .selectFrom('audit_log')
    .select(['action', 'outcome', 'outcome_detail', 'ip', 'user_agent', 'actor_user_id', 'metadata'])
    .where('action', '=', action)
    .where('resource_id', '=', id)
    .orderBy('id')
    .execute();
}

describe('users.authenticate', () => {
  it('accepts username or email in any case, sets last_login_at from the clock and audits with IP and user agent', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    expect(user.lastLoginAt).toBeNull();
    const byName = await env.cb.users.authenticate({
      login: account.username.toUpperCase(),
      password: account.password,
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0 test',
    });
    expect(byName.ok).toBe(true);
    if (!byName.ok) throw new Error('unreachable');
    expect(byName.user.id).toBe(user.id);
    expect(byName.user.lastLoginAt?.toISOString()).toBe(env.clock.now().toISOString());
    expect(JSON.stringify(byName)).not.toMatch(/\$2[aby]\$/);
    const byEmail = await env.cb.users.authenticate({
      login: account.email.toUpperCase(),
      password: account.password,
    });
    expect(byEmail.ok).toBe(true);
    const audits = await auditRows(user.id, 'user.login');
    expect(audits[0]).toMatchObject({
      outcome: 'success',
      ip: '203.0.113.7',
      user_agent: 'Mozilla/5.0 test',
      actor_user_id: user.id,
    });
    expect(JSON.stringify(audits)).not.toContain(account.password);
  });

  it('answers invalid_credentials for a wrong password or an unknown login, and audits both', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const wrong = await env.cb.users.authenticate({
      login: account.username,
      password: 'not the password',
      ip: '198.51.100.1',
    });
    expect(wrong).toEqual({ ok: false, reason: 'invalid_credentials' });
    const unknown = await env.cb.users.authenticate({
      login: 'ghost_user',
      password: 'whatever',
      ip: '198.51.100.2',
    });
    expect(unknown).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await auditRows(user.id, 'user.login')).toMatchObject([
      { outcome: 'failure', outcome_detail: 'invalid_credentials', ip: '198.51.100.1' },
    ]);
    const anonymous = await env.cb.db
      .selectFrom('audit_log')
      .select(['outcome_detail', 'resource_id'])
      .where('action', '=', 'user.login')
      .where('ip', '=', '198.51.100.2')
      .execute();
    expect(anonymous).toEqual([{ outcome_detail: 'invalid_credentials', resource_id: null }]);
    const all = await env.cb.db
      .selectFrom('audit_log')
      .select(['changes', 'metadata', 'outcome_detail'])
      .execute();
    expect(JSON.stringify(all)).not.toContain('ghost_user');
  });

  it('refuses an over-long password even when its first 72 bytes are right (bcrypt truncation)', async () => {
    const account = { ...newAccount(), password: 'p'.repeat(72) };
    await env.cb.users.create(account);
    const result = await env.cb.users.authenticate({
      login: account.username,
      password: `${account.password}extra`,
    });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
  });

  it('locks after N consecutive failures for the window, resets on success, and unlocks on demand', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    for (let i = 1; i <= 4; i++) {
      expect(await env.cb.users.authenticate({ login: account.username, password: 'wrong' })).toEqual({
        ok: false,
        reason: 'invalid_credentials',
      });
    }
    expect((await lockState(user.id)).failed_login_count).toBe(4);
    // A success resets the count.
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
    expect((await lockState(user.id)).failed_login_count).toBe(0);
    for (let i = 1; i <= 4; i++)
      await env.cb.users.authenticate({ login: account.username, password: 'wrong' });
    expect(
      await env.cb.users.authenticate({ login: account.username, password: 'wrong', ip: '192.0.2.5' }),
    ).toEqual({
      ok: false,
      reason: 'locked',
    });
    const locked = await lockState(user.id);
    expect(locked.failed_login_count).toBe(5);
    expect(locked.locked_until?.getTime()).toBe(env.clock.now().getTime() + 15 * 60_000);
    expect(await auditRows(user.id, 'user.lockout')).toMatchObject([{ ip: '192.0.2.5' }]);
    // Even the right password is refused while locked, and nothing more is counted.
    expect(await env.cb.users.authenticate({ login: account.username, password: account.password })).toEqual({
      ok: false,
      reason: 'locked',
    });
    expect((await lockState(user.id)).failed_login_count).toBe(5);
    // Just before the window ends: still locked. At its end: the right password works.
    env.clock.advance(15 * 60_000 - 1);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(false);
    env.clock.advance(1);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
    // Lock again, then an admin unlock.
    for (let i = 1; i <= 5; i++)
      await env.cb.users.authenticate({ login: account.username, password: 'wrong' });
    expect((await lockState(user.id)).locked_until).not.toBeNull();
    const unlocked = await env.cb
      .withActor({ ip: '10.1.1.1', userAgent: 'admin-console' })
      .users.unlock(user.id);
    expect(unlocked.lockedUntil).toBeNull();
    expect(unlocked.failedLoginCount).toBe(0);
    expect(await auditRows(user.id, 'user.unlock')).toMatchObject([
      { ip: '10.1.1.1', user_agent: 'admin-console' },
    ]);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
  });

  it('counts 20 parallel wrong-password attempts atomically: exactly N are counted, then the account is locked', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        env.cb.users.authenticate({ login: account.username, password: 'wrong guess' }),
      ),
    );
    const state = await lockState(user.id);
    expect(state.failed_login_count).toBe(5);
    expect(state.locked_until).not.toBeNull();
    const counted = (await auditRows(user.id, 'user.login')).filter(
      (row) => row.outcome_detail === 'invalid_credentials',
    );
    expect(counted).toHaveLength(5);
    expect(await auditRows(user.id, 'user.lockout')).toHaveLength(1);
    expect(results.every((result) => !result.ok)).toBe(true);
    expect(results.filter((result) => !result.ok && result.reason === 'invalid_credentials').length).toBe(4);
    expect(await env.cb.users.authenticate({ login: account.username, password: account.password })).toEqual({
      ok: false,
      reason: 'locked',
    });
  });

  it('answers disabled only when the password is right, and invalid_credentials otherwise', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    await env.cb.users.deactivate(user.id);
    expect(await env.cb.users.authenticate({ login: account.username, password: account.password })).toEqual({
      ok: false,
      reason: 'disabled',
    });
    expect(await env.cb.users.authenticate({ login: account.username, password: 'wrong' })).toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    await env.cb.users.reactivate(user.id);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
  });

  it('rehashes at the configured cost on the next successful login when the stored cost is lower', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account); // cost 10
    const hashOf = async () =>
      (
        await env.cb.db
          .selectFrom('users')
          .select('password_hash')
          .where('id', '=', user.id)
          .executeTakeFirstOrThrow()
      ).password_hash;
    const before = await hashOf();
    expect(bcrypt.getRounds(bcryptPart(before))).toBe(10);
    const { cb: stronger } = carebaseOn(database, { users: { bcryptCost: 12 } });
    try {
      expect((await stronger.users.authenticate({ login: account.username, password: 'wrong' })).ok).toBe(
        false,
      );
      expect(await hashOf()).toBe(before);
      expect(
        (await stronger.users.authenticate({ login: account.username, password: account.password })).ok,
      ).toBe(true);
      const after = await hashOf();
      expect(after.startsWith('$cb-bcrypt-sha256$v=1$2b$12$')).toBe(true);
      expect(bcrypt.getRounds(bcryptPart(after))).toBe(12);
      // Next login at cost 12 does not rehash again.
      expect(
        (await stronger.users.authenticate({ login: account.username, password: account.password })).ok,
      ).toBe(true);
      expect(await hashOf()).toBe(after);
    } finally {
      await stronger.close();
    }
  });
});
