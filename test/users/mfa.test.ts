import { randomBytes } from 'node:crypto';
import { InvalidConfigurationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;
const KEY = randomBytes(32);

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database, { users: { mfa: { encryptionKey: KEY }, lockout: { maxFailures: 5 } } });
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

/** The code an authenticator app shows at the test clock's time, from the enrolment URI alone. */
function codeAt(uri: string, ms: number): string {
  return (OTPAuth.URI.parse(uri) as OTPAuth.TOTP).generate({ timestamp: ms });
}

async function enrolled() {
  const account = newAccount();
  const user = await env.cb.users.create(account);
  const { uri, secret } = await env.cb.users.mfa.beginTotpEnrollment(user.id);
  expect(uri).toMatch(/^otpauth:\/\/totp\//);
  expect(uri).toContain(`secret=${secret}`);
  const confirmed = await env.cb.users.mfa.confirmTotpEnrollment(
    user.id,
    codeAt(uri, env.clock.now().getTime()),
  );
  if (!confirmed.ok) throw new Error('enrolment not confirmed');
  env.clock.advance(30_000); // the confirmation code's step is used up
  return { account, user, uri, backupCodes: confirmed.backupCodes };
}

async function challengeFor(account: { username: string; password: string }): Promise<string> {
  const result = await env.cb.users.authenticate({ login: account.username, password: account.password });
  if (result.ok || result.reason !== 'mfa_required')
    throw new Error(`expected mfa_required, got ${JSON.stringify(result)}`);
  expect(result.expiresAt.getTime()).toBe(env.clock.now().getTime() + 5 * 60_000);
  return result.challenge;
}

describe('TOTP multi-factor authentication', () => {
  it('an enrolled login needs a code; the code completes it once and a replayed code is refused', async () => {
    const { account, uri } = await enrolled();
    const challenge = await challengeFor(account);
    const code = codeAt(uri, env.clock.now().getTime());
    const done = await env.cb.users.mfa.verify({ challenge, code });
    expect(done.ok && done.method).toBe('totp');
    if (!done.ok) throw new Error('unreachable');
    expect(done.mfaAt).toEqual(env.clock.now());
    const { token } = await env.cb.sessions.create({ userId: done.user.id, mfaAt: done.mfaAt });
    expect(await env.cb.sessions.validate(token, { requireMfa: true })).toBeDefined();
    // The challenge is single-use, and the same code is refused on a fresh challenge (replay).
    expect(await env.cb.users.mfa.verify({ challenge, code })).toMatchObject({ ok: false });
    const again = await challengeFor(account);
    expect(await env.cb.users.mfa.verify({ challenge: again, code })).toEqual({
      ok: false,
      reason: 'invalid_code',
    });
    env.clock.advance(30_000);
    expect(
      (await env.cb.users.mfa.verify({ challenge: again, code: codeAt(uri, env.clock.now().getTime()) })).ok,
    ).toBe(true);
  });

  it('a challenge expires', async () => {
    const { account, uri, user } = await enrolled();
    for (let i = 0; i < 12; i++) await challengeFor(account);
    const live = await env.cb.db
      .selectFrom('mfa_challenges')
      .select('user_id')
      .where('user_id', '=', user.id)
      .execute();
    expect(live).toHaveLength(10); // at most ten live challenges per account
    const challenge = await challengeFor(account);
    env.clock.advance(5 * 60_000 + 1);
    const late = await env.cb.users.mfa.verify({ challenge, code: codeAt(uri, env.clock.now().getTime()) });
    expect(late).toEqual({ ok: false, reason: 'invalid_challenge' });
  });

  it('a backup code works once', async () => {
    const { account, backupCodes } = await enrolled();
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
    const code = backupCodes[3] as string;
    const first = await env.cb.users.mfa.verify({
      challenge: await challengeFor(account),
      code: code.toUpperCase(),
    });
    expect(first.ok && first.method).toBe('backup_code');
    const second = await env.cb.users.mfa.verify({ challenge: await challengeFor(account), code });
    expect(second).toEqual({ ok: false, reason: 'invalid_code' });
    expect((await env.cb.users.mfa.status(first.ok ? first.user.id : '')).backupCodesLeft).toBe(9);
    const exported = await env.cb.users.exportData(first.ok ? first.user.id : '');
    expect(exported.mfa).toMatchObject({ enabled: true, backupCodesLeft: 9 });
    expect(JSON.stringify(exported)).not.toContain(code);
  });

  it('wrong codes count toward the lockout, and the audit never calls them a successful login', async () => {
    const { account, user, uri } = await enrolled();
    const challenge = await challengeFor(account);
    const answers: string[] = [];
    for (let i = 0; i < 7; i++) {
      const result = await env.cb.users.mfa.verify({ challenge, code: String(100000 + i) });
      answers.push(result.ok ? 'ok' : result.reason);
    }
    expect(answers.slice(0, 4)).toEqual(['invalid_code', 'invalid_code', 'invalid_code', 'invalid_code']);
    expect(answers.slice(4)).toEqual(['locked', 'locked', 'locked']);
    expect((await env.cb.users.getById(user.id)).lockedUntil).not.toBeNull();
    // Locked: even the right code is refused, and the password alone answers locked.
    const right = await env.cb.users.mfa.verify({ challenge, code: codeAt(uri, env.clock.now().getTime()) });
    expect(right).toEqual({ ok: false, reason: 'locked' });
    const successes = await env.cb.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'user.login')
      .where('resource_id', '=', user.id)
      .where('outcome', '=', 'success')
      .execute();
    expect(successes).toHaveLength(0);
  });

  it('secrets are encrypted at rest and a rotated key still decrypts; no key, no enrolment', async () => {
    const { account, user, uri } = await enrolled();
    const secret = new URL(uri).searchParams.get('secret') as string;
    const row = await env.cb.db
      .selectFrom('user_mfa')
      .select(['totp_secret', 'key_id'])
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    const raw = Buffer.from(new OTPAuth.Secret({ buffer: OTPAuth.Secret.fromBase32(secret).buffer }).buffer);
    expect(row.totp_secret.includes(raw)).toBe(false);
    const rotated = carebaseOn(database, {
      users: { mfa: { encryptionKey: { current: randomBytes(32), previous: [KEY] } } },
    });
    try {
      rotated.clock.advance(env.clock.now().getTime() - rotated.clock.now().getTime() + 60_000);
      const login = await rotated.cb.users.authenticate({
        login: account.username,
        password: account.password,
      });
      if (login.ok || login.reason !== 'mfa_required') throw new Error('expected mfa_required');
      const done = await rotated.cb.users.mfa.verify({
        challenge: login.challenge,
        code: codeAt(uri, rotated.clock.now().getTime()),
      });
      expect(done.ok).toBe(true);
      const after = await env.cb.db
        .selectFrom('user_mfa')
        .select('key_id')
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(after.key_id).not.toBe(row.key_id); // re-encrypted under the current key
    } finally {
      await rotated.cb.close();
    }
    const keyless = carebaseOn(database);
    try {
      await expect(keyless.cb.users.mfa.beginTotpEnrollment(user.id)).rejects.toBeInstanceOf(
        InvalidConfigurationError,
      );
    } finally {
      await keyless.cb.close();
    }
  });

  it('an admin reset of MFA is audited and the next login needs the password only', async () => {
    const { account, user } = await enrolled();
    const admin = '00000000-0000-4000-8000-00000000a0a0';
    expect(await env.cb.withActor({ userId: admin }).users.mfa.reset(user.id)).toBe(true);
    const audit = await env.cb.db
      .selectFrom('audit_log')
      .select('actor_user_id')
      .where('action', '=', 'user.mfa_reset')
      .where('resource_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(audit.actor_user_id).toBe(admin);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
  });
});
