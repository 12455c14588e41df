import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database, {
    users: {
      lockout: { maxFailures: 100 },
      mfa: { encryptionKey: randomBytes(32) },
      rateLimit: { maxFailures: 100_000, maxResetRequests: 100_000 },
    },
  });
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Medians of `a` and `b`, alternated so load drift hits both alike. */
async function compare(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  rounds = 30,
): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  await a();
  await b();
  for (let i = 0; i < rounds; i++) {
    for (const [index, fn] of (i % 2 === 0
      ? [
          [0, a],
          [1, b],
        ]
      : [
          [1, b],
          [0, a],
        ]) as [0 | 1, () => Promise<unknown>][]) {
      const started = performance.now();
      await fn();
      times[index].push(performance.now() - started);
    }
  }
  return [median(times[0]), median(times[1])];
}

// Equal timing (ASVS 6.3.8 / 6.4.x): the new paths do the same database work for an unknown
// account or challenge as for a known one. Medians within 25% (these paths are a few ms of SQL,
// so a loaded machine's scheduling noise is a larger share than for the bcrypt-bound login).
describe('recovery and MFA timing', () => {
  // A busy neighbour on the shared machine can skew one series: retried; a real leak fails every try.
  it('a reset request takes as long for an unknown login as for a known one', { retry: 2 }, async () => {
    const account = newAccount();
    await env.cb.users.create(account);
    const [known, unknown] = await compare(
      () => env.cb.users.passwordReset.request({ login: account.email, ip: '192.0.2.10' }),
      () => env.cb.users.passwordReset.request({ login: `nobody.${account.email}`, ip: '192.0.2.10' }),
    );
    console.info(`reset request medians: known ${known.toFixed(2)} ms, unknown ${unknown.toFixed(2)} ms`);
    expect(Math.abs(known - unknown) / Math.max(known, unknown)).toBeLessThan(0.25);
  });

  it('an MFA verification takes as long for an unknown challenge as for a wrong code', {
    retry: 2,
  }, async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const { uri } = await env.cb.users.mfa.beginTotpEnrollment(user.id);
    const code = (OTPAuth.URI.parse(uri) as OTPAuth.TOTP).generate({ timestamp: env.clock.now().getTime() });
    await env.cb.users.mfa.confirmTotpEnrollment(user.id, code);
    const login = await env.cb.users.authenticate({ login: account.username, password: account.password });
    if (login.ok || login.reason !== 'mfa_required') throw new Error('expected mfa_required');
    const unknownChallenge = randomBytes(32).toString('base64url');
    const [wrong, unknown] = await compare(
      () => env.cb.users.mfa.verify({ challenge: login.challenge, code: '000000' }),
      () => env.cb.users.mfa.verify({ challenge: unknownChallenge, code: '000000' }),
    );
    console.info(
      `MFA verify medians: wrong code ${wrong.toFixed(2)} ms, unknown challenge ${unknown.toFixed(2)} ms`,
    );
    expect(Math.abs(wrong - unknown) / Math.max(wrong, unknown)).toBeLessThan(0.25);
  });
});
