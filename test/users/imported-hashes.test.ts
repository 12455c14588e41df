import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcrypt';
import { isCarebaseError, type ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from '../cli/bin.js';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database, { users: { bcryptCost: 10, lockout: { maxFailures: 100 } } });
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

async function storedHash(id: string): Promise<string> {
  const row = await env.cb.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.password_hash;
}

/** Creates a user with `passwordHash`, logs in with a wrong and then the right password. */
async function importAndLogin(
  passwordHash: {
    algorithm: 'bcrypt' | 'sha256' | 'pbkdf2' | 'argon2id';
    hash: string;
    salt?: string;
    saltPosition?: 'prefix' | 'suffix';
  },
  password: string,
): Promise<{ id: string; before: string; after: string }> {
  const { username, email, role } = newAccount();
  const user = await env.cb.users.create({ username, email, role, passwordHash });
  const before = await storedHash(user.id);
  const wrong = await env.cb.users.authenticate({ login: username, password: `${password}x` });
  expect(wrong).toEqual({ ok: false, reason: 'invalid_credentials' });
  expect(await storedHash(user.id)).toBe(before);
  const login = await env.cb.users.authenticate({ login: username, password });
  expect(login.ok).toBe(true);
  return { id: user.id, before, after: await storedHash(user.id) };
}

describe('users.create({ passwordHash }) and the upgrade at login', () => {
  it('imports an unsalted SHA-256 hash; the first login verifies it and replaces it by bcrypt at the configured cost, audited', async () => {
    const password = 'nightingale-1820';
    const legacyBefore = await env.cb.users.legacyPasswordHashes();
    const { username, email, role } = newAccount();
    const user = await env.cb.users.create({
      username,
      email,
      role,
      passwordHash: { algorithm: 'sha256', hash: sha256(password).toUpperCase() },
    });
    expect(await env.cb.users.legacyPasswordHashes()).toEqual({
      total: legacyBefore.total + 1,
      byScheme: { ...legacyBefore.byScheme, sha256: legacyBefore.byScheme.sha256 + 1 },
    });
    expect(await storedHash(user.id)).toBe(`$sha256$${sha256(password)}`);
    const login = await env.cb.users.authenticate({ login: username, password, ip: '198.51.100.4' });
    expect(login.ok).toBe(true);
    const after = await storedHash(user.id);
    expect(after).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
    expect((await env.cb.users.legacyPasswordHashes()).total).toBe(legacyBefore.total);
    const audit = await env.cb.audit.query({
      action: 'user.login',
      resourceType: 'user',
      resourceId: user.id,
    });
    expect(audit.items[0]?.metadata).toEqual({ rehashed: true, upgradedFrom: 'sha256' });
    const created = await env.cb.audit.query({
      action: 'user.create',
      resourceType: 'user',
      resourceId: user.id,
    });
    expect(JSON.stringify(created.items)).not.toContain(sha256(password));
    // And the password keeps working on bcrypt.
    expect((await env.cb.users.authenticate({ login: username, password })).ok).toBe(true);
  });

  it('imports salted SHA-256 with the salt before or after the password', async () => {
    const salt = 's@lt-ü';
    const prefix = await importAndLogin(
      { algorithm: 'sha256', hash: sha256(`${salt}pw-prefix-1`), salt },
      'pw-prefix-1',
    );
    expect(prefix.after).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
    const suffix = await importAndLogin(
      { algorithm: 'sha256', hash: sha256(`pw-suffix-1${salt}`), salt, saltPosition: 'suffix' },
      'pw-suffix-1',
    );
    expect(suffix.before).toMatch(/^\$sha256\$suffix\$/);
    expect(suffix.after).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
  });

  it('keeps an imported bcrypt hash (cost 10, $2y$ read as $2b$) and logs in with it', async () => {
    const password = 'mongo-app-pw';
    const hash = await bcrypt.hash(password, 10);
    const kept = await importAndLogin({ algorithm: 'bcrypt', hash }, password);
    expect(kept.before).toBe(hash);
    // Stored as imported; the login verifies it and rewrites it in carebase's current format
    // ($cb-bcrypt-sha256$: pre-hashed, so long passphrases count in full), at the same cost.
    expect(kept.after).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
    const php = await importAndLogin({ algorithm: 'bcrypt', hash: hash.replace('$2b$', '$2y$') }, password);
    expect(php.before).toBe(hash);
  });

  it('upgrades an imported bcrypt hash below the configured cost at login', async () => {
    const password = 'low-cost-pw';
    const upgraded = await importAndLogin(
      { algorithm: 'bcrypt', hash: await bcrypt.hash(password, 4) },
      password,
    );
    expect(upgraded.before).toMatch(/^\$2b\$04\$/);
    expect(upgraded.after).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
  });

  it('imports PBKDF2 in Werkzeug, Django and passlib formats', async () => {
    const password = 'flask-era-pw';
    const salt = 'Xq3saltsalt';
    const werkzeug = `pbkdf2:sha256:1000$${salt}$${pbkdf2Sync(password, salt, 1000, 32, 'sha256').toString('hex')}`;
    const django = `pbkdf2_sha256$1200$${salt}$${pbkdf2Sync(password, salt, 1200, 32, 'sha256').toString('base64')}`;
    const rawSalt = randomBytes(16);
    const ab64 = (buffer: Buffer) => buffer.toString('base64').replaceAll('+', '.').replace(/=+$/, '');
    const passlib = `$pbkdf2-sha256$1100$${ab64(rawSalt)}$${ab64(pbkdf2Sync(password, rawSalt, 1100, 32, 'sha256'))}`;
    for (const hash of [werkzeug, django, passlib]) {
      const result = await importAndLogin({ algorithm: 'pbkdf2', hash }, password);
      expect(result.before).toBe(hash);
      expect(result.after).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
    }
  });

  it('imports argon2id (PHC string) and upgrades it', async () => {
    const password = 'argon-pw';
    const hash = await argon2Hash(password, { memoryCost: 1024, timeCost: 1, parallelism: 1 });
    const result = await importAndLogin({ algorithm: 'argon2id', hash }, password);
    expect(result.before).toMatch(/^\$argon2id\$/);
    expect(result.after).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
  });

  it('refuses malformed hashes with a ValidationError at passwordHash.hash that never quotes the hash, writing nothing', async () => {
    const cases = [
      { algorithm: 'sha256', hash: 'abc123' },
      { algorithm: 'bcrypt', hash: '$2x$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0' },
      { algorithm: 'pbkdf2', hash: 'pbkdf2:sha256:999999999$salt$00ff' },
      { algorithm: 'argon2id', hash: '$argon2id$v=19$m=99999999,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo' },
      { algorithm: 'pbkdf2', hash: '$sha256$feedface' },
      { algorithm: 'bcrypt', hash: await bcrypt.hash('x', 4), salt: 'nope' },
    ] as const;
    for (const passwordHash of cases) {
      const account = newAccount();
      const error = await env.cb.users
        .create({ username: account.username, email: account.email, role: 'nurse', passwordHash })
        .then(
          () => undefined,
          (caught: unknown) => caught as ValidationError,
        );
      expect(isCarebaseError(error, 'VALIDATION_FAILED'), JSON.stringify(passwordHash)).toBe(true);
      expect(error?.field).toBe('passwordHash.hash');
      expect(error?.message).not.toContain(passwordHash.hash);
      expect(await env.cb.users.findByUsername(account.username)).toBeUndefined();
    }
    const both = newAccount();
    await expect(
      env.cb.users.create({ ...both, passwordHash: { algorithm: 'sha256', hash: sha256('x') } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'password' });
    const neither = newAccount();
    await expect(
      env.cb.users.create({ username: neither.username, email: neither.email, role: 'nurse' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'password' });
  });

  it('checks a self-service password change against a legacy hash', async () => {
    const { username, email, role } = newAccount();
    const user = await env.cb.users.create({
      username,
      email,
      role,
      passwordHash: { algorithm: 'sha256', hash: sha256('old-legacy-pw') },
    });
    await expect(
      env.cb.users.changePassword(user.id, { currentPassword: 'wrong', newPassword: 'brand new password' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'currentPassword' });
    await env.cb.users.changePassword(user.id, {
      currentPassword: 'old-legacy-pw',
      newPassword: 'brand new password',
    });
    expect(await storedHash(user.id)).toMatch(/^\$cb-bcrypt-sha256\$v=1\$2b\$10\$/);
  });

  it('takes as long for a wrong password on a SHA-256 account as on a bcrypt account (medians within 25%)', async () => {
    // Both failures take the same database path (the failure is counted and audited), so this
    // isolates the hashing: a legacy SHA-256 check (microseconds) must not answer early. (Unknown
    // logins vs wrong bcrypt passwords are compared by login-timing.test.ts.)
    const legacy = newAccount();
    await env.cb.users.create({
      username: legacy.username,
      email: legacy.email,
      role: 'nurse',
      passwordHash: { algorithm: 'sha256', hash: sha256('right one') },
    });
    const modern = newAccount();
    await env.cb.users.create(modern);
    const legacyMs: number[] = [];
    const modernMs: number[] = [];
    const time = async (login: string, into: number[]) => {
      const started = performance.now();
      const result = await env.cb.users.authenticate({ login, password: 'definitely wrong' });
      into.push(performance.now() - started);
      expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    };
    await time(legacy.username, []);
    await time(modern.username, []);
    for (let i = 0; i < 16; i++) {
      const order: [string, number[]][] = [
        [legacy.username, legacyMs],
        [modern.username, modernMs],
      ];
      if (i % 2 === 1) order.reverse();
      for (const [login, into] of order) await time(login, into);
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const a = median(legacyMs);
    const b = median(modernMs);
    console.info(
      `wrong-password timing medians: SHA-256 account ${a.toFixed(1)} ms, bcrypt account ${b.toFixed(1)} ms`,
    );
    // 25%: the machine's load moves medians by 10-20% (2 cores shared by many runs); an early answer
    // for legacy hashes (the regression this guards against) measures about 90% apart.
    expect(Math.abs(a - b) / Math.max(a, b)).toBeLessThan(0.25);
  });
});

describe('users.recordLogin', () => {
  it('sets lastLoginAt and audits user.login with the method and IP, without touching the lockout', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    await env.cb.users.authenticate({ login: account.username, password: 'wrong' });
    const recorded = await env.cb.users.recordLogin(user.id, { ip: '203.0.113.9', method: 'oidc' });
    expect(recorded.lastLoginAt?.toISOString()).toBe(env.clock.now().toISOString());
    expect(recorded.failedLoginCount).toBe(1);
    const audit = await env.cb.audit.query({
      action: 'user.login',
      resourceType: 'user',
      resourceId: user.id,
    });
    expect(audit.items[0]).toMatchObject({
      outcome: 'success',
      ip: '203.0.113.9',
      actorUserId: user.id,
      metadata: { method: 'oidc' },
    });
    await expect(env.cb.users.recordLogin('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(env.cb.users.recordLogin(user.id, { ip: 'not an ip' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'ip',
    });
  });
});

describe.skipIf(!built)('carebase doctor', () => {
  it('reports the legacy hashes left, by scheme (info: nothing to fix)', async () => {
    const { username, email } = newAccount();
    await env.cb.users.create({
      username,
      email,
      role: 'nurse',
      passwordHash: { algorithm: 'sha256', hash: sha256('left') },
    });
    const expected = await env.cb.users.legacyPasswordHashes();
    const run = await carebase(['doctor', '--json'], { env: { ...baseEnv(), DATABASE_URL: database.url } });
    const check = (
      JSON.parse(run.stdout) as { checks: { id: string; status: string; summary: string }[] }
    ).checks.find((c) => c.id === 'password-hashes');
    expect(check?.status).toBe('info');
    expect(check?.summary).toContain(`${expected.total} imported legacy password hash`);
    expect(check?.summary).toContain(`sha256 ${expected.byScheme.sha256}`);
  });
});
