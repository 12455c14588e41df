import bcrypt from 'bcrypt';
import { isCarebaseError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database, {
    users: {
      passwordPolicy: {
        denyList: ['Carebase Hospital 2026'],
        check: (password) => (password.includes('surgery') ? 'must not name the ward' : undefined),
      },
    },
  });
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

async function refusal(password: string, account = newAccount()): Promise<ValidationError> {
  const error = await env.cb.users.create({ ...account, password }).catch((e: unknown) => e);
  if (!(error instanceof ValidationError))
    throw new Error(`expected a ValidationError, got ${String(error)}`);
  expect(error.field).toBe('password');
  expect(error.message).not.toContain(password);
  return error;
}

describe('password policy (ASVS 5.0 V6.2)', () => {
  it('accepts a 64-character non-ASCII passphrase and logs in with it, in either Unicode normal form', async () => {
    const nfc = 'Ich möchte über die Brücke gehen, während Störche fliegen ✓ 東京';
    const passphrase = `${nfc}${'ü'.repeat(64 - [...nfc].length)}`;
    expect([...passphrase].length).toBe(64);
    expect(Buffer.byteLength(passphrase)).toBeGreaterThan(72);
    const account = newAccount();
    await env.cb.users.create({ ...account, password: passphrase });
    const nfd = passphrase.normalize('NFD');
    expect(nfd).not.toBe(passphrase);
    expect((await env.cb.users.authenticate({ login: account.username, password: nfd })).ok).toBe(true);
    // Past 72 bytes every character counts: a change at the end is a wrong password.
    const wrongTail = `${passphrase.slice(0, -1)}x`;
    expect((await env.cb.users.authenticate({ login: account.username, password: wrongTail })).ok).toBe(
      false,
    );
  });

  it('refuses common and breached passwords from the shipped list, case-insensitively, without echoing them', async () => {
    const error = await refusal('Password1234');
    expect(error.issues[0]?.code).toBe('common_password');
    expect((await refusal('QWERTYUIOPASDFGHJKL')).issues[0]?.code).toBe('common_password');
    expect((await refusal('1234567890123')).issues[0]?.code).toBe('common_password');
  });

  it('refuses the host deny list, the account name and what the host check refuses', async () => {
    expect((await refusal('carebase hospital 2026')).issues[0]?.code).toBe('denied_password');
    const account = newAccount();
    expect((await refusal(`my name is ${account.username}!`, account)).issues[0]?.code).toBe(
      'contains_account_name',
    );
    const custom = await refusal('the surgery ward is mine');
    expect(custom.issues[0]).toMatchObject({ code: 'password_policy', message: 'must not name the ward' });
  });

  it('changePassword applies the same policy before any write', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const error = await env.cb.users
      .changePassword(user.id, { currentPassword: account.password, newPassword: 'qwertyuiop123' })
      .catch((e: unknown) => e);
    expect(isCarebaseError(error, 'VALIDATION_FAILED') && error.issues[0]?.code).toBe('common_password');
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
  });

  it('a plain bcrypt hash of an earlier version keeps verifying and is upgraded at login', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const legacy = await bcrypt.hash(account.password, 10);
    const { cb: owner } = env;
    await owner.db.updateTable('users').set({ password_hash: legacy }).where('id', '=', user.id).execute();
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: 'wrong password here' })).ok,
    ).toBe(false);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
    const stored = await owner.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(stored.password_hash.startsWith('$cb-bcrypt-sha256$v=1$2b$10$')).toBe(true);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
    // A legacy hash never matches a password beyond 72 bytes that shares its first 72 bytes.
    const long = 'a'.repeat(72);
    await owner.db
      .updateTable('users')
      .set({ password_hash: await bcrypt.hash(long, 10) })
      .where('id', '=', user.id)
      .execute();
    expect((await env.cb.users.authenticate({ login: account.username, password: `${long}tail` })).ok).toBe(
      false,
    );
  });
});
