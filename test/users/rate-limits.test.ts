import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let first: ReturnType<typeof carebaseOn>;
let second: ReturnType<typeof carebaseOn>;
const LIMITS = { maxFailures: 6, maxResetRequests: 3, windowMs: 15 * 60_000 };

beforeAll(async () => {
  database = await createTestDatabase();
  // Two carebase instances (two processes of one host) on one database: the limits are shared.
  first = carebaseOn(database, { users: { rateLimit: LIMITS, lockout: { maxFailures: 100 } } });
  second = carebaseOn(database, {
    clock: first.clock,
    users: { rateLimit: LIMITS, lockout: { maxFailures: 100 } },
  });
});

afterAll(async () => {
  await first?.cb.close();
  await second?.cb.close();
  await database?.drop();
});

describe('rate limits per network, in PostgreSQL', () => {
  it('failed logins from one /24 across two instances hit one limit; another network is unaffected', async () => {
    const account = newAccount();
    await first.cb.users.create(account);
    for (let i = 0; i < LIMITS.maxFailures; i++) {
      const cb = i % 2 === 0 ? first.cb : second.cb;
      const result = await cb.users.authenticate({
        login: `nobody_${i}`,
        password: 'wrong guess',
        ip: `198.51.100.${i + 1}`,
      });
      expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    }
    // Even the right password is not checked from that network now.
    const limited = await second.cb.users.authenticate({
      login: account.username,
      password: account.password,
      ip: '198.51.100.200',
    });
    expect(limited).toEqual({ ok: false, reason: 'rate_limited', retryAfterMs: LIMITS.windowMs });
    const other = await first.cb.users.authenticate({
      login: account.username,
      password: account.password,
      ip: '198.51.101.7',
    });
    expect(other.ok).toBe(true);
    // MFA verification and reset completion are limited by the same count.
    expect(
      await first.cb.users.mfa
        .verify({ challenge: 'x', code: '123456', ip: '198.51.100.9' })
        .catch((e: unknown) => e),
    ).toMatchObject({
      reason: 'rate_limited',
    });
    expect(
      await first.cb.users.passwordReset.complete({
        token: 'x',
        newPassword: 'a fine new passphrase',
        ip: '198.51.100.9',
      }),
    ).toMatchObject({ reason: 'rate_limited' });
    // The window slides by the minute: once the failures are older than the window, logins are checked again.
    first.clock.advance(LIMITS.windowMs + 60_000);
    const later = await first.cb.users.authenticate({
      login: account.username,
      password: account.password,
      ip: '198.51.100.200',
    });
    expect(later.ok).toBe(true);
  });

  it('reset requests per network, with retryAfterMs; old buckets are pruned', async () => {
    const account = newAccount();
    await first.cb.users.create(account);
    for (let i = 0; i < LIMITS.maxResetRequests; i++) {
      const ticket = await first.cb.users.passwordReset.request({
        login: account.email,
        ip: '2001:db8:1:2::10',
      });
      expect('token' in ticket).toBe(true);
      first.clock.advance(60_000);
    }
    const limited = await second.cb.users.passwordReset.request({
      login: account.email,
      ip: '2001:db8:1:2:ffff::1',
    });
    // The oldest bucket (3 minutes ago) leaves the window in 12 minutes.
    expect(limited).toEqual({
      ok: false,
      reason: 'rate_limited',
      retryAfterMs: LIMITS.windowMs - 3 * 60_000,
    });
    expect(
      'token' in
        (await first.cb.users.passwordReset.request({ login: account.email, ip: '2001:db8:1:3::1' })),
    ).toBe(true);
    first.clock.advance(2 * LIMITS.windowMs);
    await first.cb.users.authenticate({ login: 'nobody', password: 'wrong', ip: '192.0.2.1' });
    const rows = await first.cb.db.selectFrom('auth_rate_limits').select(['bucket_start']).execute();
    const oldest = Math.min(...rows.map((row) => row.bucket_start.getTime()));
    expect(oldest).toBeGreaterThan(first.clock.now().getTime() - LIMITS.windowMs - 2 * 60_000);
  });

  it('repeated lockouts last longer with lockout.escalation', async () => {
    const env = carebaseOn(database, {
      users: { lockout: { maxFailures: 2, durationMs: 60_000, escalation: 4 } },
    });
    try {
      const account = newAccount();
      const user = await env.cb.users.create(account);
      const lockFor = async () => {
        for (let i = 0; i < 2; i++)
          await env.cb.users.authenticate({ login: account.username, password: 'wrong guess' });
        const found = await env.cb.users.getById(user.id);
        return (found.lockedUntil?.getTime() ?? 0) - env.clock.now().getTime();
      };
      expect(await lockFor()).toBe(60_000);
      env.clock.advance(60_001);
      expect(await lockFor()).toBe(240_000);
      env.clock.advance(240_001);
      expect(
        (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
      ).toBe(true);
      expect(await lockFor()).toBe(60_000);
    } finally {
      await env.cb.close();
    }
  });
});
