import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

// Concurrency of the rate limits (users.rateLimit): the check and the count of a hit are one
// atomic step, so however many calls run at once, no more than the limit get through.

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;
const LIMITS = {
  maxFailures: 5,
  maxResetRequests: 1000,
  maxResetRequestsPerLogin: 3,
  maxVerificationRequests: 4,
};

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database, {
    pool: { max: 20 },
    users: { rateLimit: LIMITS, lockout: { maxFailures: 100 } },
  });
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

describe('rate limits under concurrency', () => {
  it('20 concurrent wrong logins from one network against a limit of 5: exactly 5 are checked', async () => {
    // Created one by one: the first audit write of a month creates its partitions (concurrent
    // first writes into a new month are another test's subject).
    const accounts = [newAccount(), newAccount(), newAccount(), newAccount()];
    for (const account of accounts) await env.cb.users.create(account);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        env.cb.users.authenticate({
          // Known accounts and unknown logins alike.
          login: i % 5 === 4 ? `nobody_${i}` : ((accounts[i % 5] ?? accounts[0])?.username ?? ''),
          password: 'wrong guess',
          ip: `203.0.113.${i + 1}`,
        }),
      ),
    );
    const checked = results.filter((r) => !r.ok && r.reason === 'invalid_credentials');
    const limited = results.filter((r) => !r.ok && r.reason === 'rate_limited');
    expect(checked).toHaveLength(LIMITS.maxFailures);
    expect(limited).toHaveLength(20 - LIMITS.maxFailures);
    // Only the checked attempts were audited.
    const audited = await env.cb.audit.query({ action: 'user.login', limit: 100 });
    expect(audited.items.filter((e) => e.ip?.startsWith('203.0.113.'))).toHaveLength(LIMITS.maxFailures);
    const [row] = await env.cb.db
      .selectFrom('auth_rate_limits')
      .select((eb) => eb.fn.sum<string>('hits').as('hits'))
      .where('scope', '=', 'failure')
      .where('source', '=', '203.0.113.0/24')
      .execute();
    expect(Number(row?.hits)).toBe(LIMITS.maxFailures);
  });

  it('a login that is not a failure gives its hit back', async () => {
    const account = newAccount();
    await env.cb.users.create(account);
    const ip = (i: number) => `198.51.100.${i}`;
    for (let i = 0; i < LIMITS.maxFailures - 1; i++) {
      expect(await env.cb.users.authenticate({ login: 'nobody', password: 'x', ip: ip(i) })).toMatchObject({
        reason: 'invalid_credentials',
      });
    }
    // Ten concurrent right-password logins with one slot left: each reserves it in turn and gives it back.
    const good = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        env.cb.users.authenticate({ login: account.username, password: account.password, ip: ip(100 + i) }),
      ),
    );
    expect(
      good.filter((r) => r.ok).length + good.filter((r) => !r.ok && r.reason === 'rate_limited').length,
    ).toBe(10);
    expect(good.some((r) => r.ok)).toBe(true);
    // Still one failure left, then the limit.
    expect(await env.cb.users.authenticate({ login: 'nobody', password: 'x', ip: ip(200) })).toMatchObject({
      reason: 'invalid_credentials',
    });
    expect(await env.cb.users.authenticate({ login: 'nobody', password: 'x', ip: ip(201) })).toMatchObject({
      reason: 'rate_limited',
    });
  });

  it('20 concurrent reset requests for one login from 20 networks: 3 tokens, the same for an unknown login', async () => {
    const account = newAccount();
    await env.cb.users.create(account);
    const burst = (login: string) =>
      Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          env.cb.users.passwordReset.request({ login, ip: `10.${i}.0.1` }),
        ),
      );
    const known = await burst(account.email.toUpperCase());
    const unknown = await burst('nobody@example.org');
    for (const results of [known, unknown]) {
      expect(results.filter((r) => 'token' in r)).toHaveLength(LIMITS.maxResetRequestsPerLogin);
      const limited = results.filter((r) => !('token' in r));
      expect(limited).toHaveLength(20 - LIMITS.maxResetRequestsPerLogin);
      // The answer never tells whether the account exists.
      expect(new Set(limited.map((r) => JSON.stringify(r)))).toEqual(
        new Set([JSON.stringify({ ok: false, reason: 'rate_limited', retryAfterMs: 15 * 60_000 })]),
      );
    }
    expect(known.filter((r) => 'token' in r && r.recipient !== null)).toHaveLength(
      LIMITS.maxResetRequestsPerLogin,
    );
    // The login is never stored in clear: only a SHA-256 of it.
    const keys = await env.cb.db
      .selectFrom('auth_rate_limits')
      .select('source')
      .where('scope', '=', 'reset_login')
      .execute();
    expect(keys).toHaveLength(2);
    for (const { source } of keys) expect(source).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The window passes: requests are answered again.
    env.clock.advance(15 * 60_000 + 60_000);
    expect('token' in (await env.cb.users.passwordReset.request({ login: account.email }))).toBe(true);
  });

  it('email verification: requests limited per account (concurrently too), invalid tokens per network', async () => {
    const user = await env.cb.users.create(newAccount());
    const results = await Promise.all(
      Array.from({ length: 12 }, () => env.cb.users.emailVerification.request(user.id)),
    );
    expect(results.filter((r) => 'token' in r)).toHaveLength(LIMITS.maxVerificationRequests);
    expect(results.filter((r) => !('token' in r))).toHaveLength(12 - LIMITS.maxVerificationRequests);
    // Another account is not affected.
    const other = await env.cb.users.create(newAccount());
    const ticket = await env.cb.users.emailVerification.request(other.id);
    if (!('token' in ticket)) throw new Error('expected a ticket');
    // Invalid tokens count toward the network's failure limit; a valid one is given back.
    const ip = '192.0.2.77';
    expect((await env.cb.users.emailVerification.complete(ticket.token, { ip })).ok).toBe(true);
    const wrong = await Promise.all(
      Array.from({ length: 10 }, () =>
        env.cb.users.emailVerification.complete('A'.repeat(43), { ip: '192.0.2.78' }),
      ),
    );
    expect(wrong.filter((r) => !r.ok && r.reason === 'invalid_token')).toHaveLength(LIMITS.maxFailures);
    expect(wrong.filter((r) => !r.ok && r.reason === 'rate_limited')).toHaveLength(10 - LIMITS.maxFailures);
    await expect(env.cb.users.emailVerification.complete('x', { ip: 'not an ip' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});
