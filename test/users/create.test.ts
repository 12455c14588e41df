import bcrypt from 'bcrypt';
import { ConflictError, isCarebaseError, NotFoundError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bcryptPart, carebaseOn, newAccount } from '../support/users.js';

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

async function userCount(): Promise<number> {
  const row = await env.cb.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('users.create and find', () => {
  it('creates a user without ever returning the hash, and finds it case-insensitively', async () => {
    const account = newAccount();
    const user = await env.cb.users.create({
      ...account,
      username: account.username.toUpperCase(),
      displayName: 'Ana',
    });
    expect(user).toMatchObject({
      username: account.username.toUpperCase(),
      email: account.email,
      role: 'nurse',
    });
    expect(user.status).toBe('active');
    expect(JSON.stringify(user)).not.toMatch(/\$2[aby]\$/);
    expect(Object.keys(user)).not.toContain('passwordHash');
    expect((await env.cb.users.findByUsername(account.username))?.id).toBe(user.id);
    expect((await env.cb.users.findByEmail(account.email.toUpperCase()))?.id).toBe(user.id);
    expect((await env.cb.users.findById(user.id))?.id).toBe(user.id);
    expect((await env.cb.users.getById(user.id)).displayName).toBe('Ana');
    const stored = await env.cb.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(stored.password_hash.startsWith('$cb-bcrypt-sha256$v=1$2b$')).toBe(true);
    expect(bcrypt.getRounds(bcryptPart(stored.password_hash))).toBe(10);
    // Pre-hashed: bcrypt never sees the password itself.
    expect(await bcrypt.compare(account.password, bcryptPart(stored.password_hash))).toBe(false);
  });

  it('returns undefined / throws NotFoundError for unknown users', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expect(await env.cb.users.findById(id)).toBeUndefined();
    expect(await env.cb.users.findByUsername('nobody_here')).toBeUndefined();
    await expect(env.cb.users.getById(id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(env.cb.users.findById('not-a-uuid')).rejects.toBeInstanceOf(ValidationError);
  });

  it('uses the default cost 12 when not configured', async () => {
    const { cb } = carebaseOn(database, { users: { bcryptCost: 12 } });
    try {
      const user = await cb.users.create(newAccount());
      const stored = await cb.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(stored.password_hash.startsWith('$cb-bcrypt-sha256$v=1$2b$')).toBe(true);
      expect(bcrypt.getRounds(bcryptPart(stored.password_hash))).toBe(12);
    } finally {
      await cb.close();
    }
  });

  it('refuses passwords over 1024 characters or with NUL before any SQL, without echoing them', async () => {
    const before = await userCount();
    const threeByte = 'ह'; // U+0939, 3 bytes in UTF-8
    const error = await env.cb.users
      .create({ ...newAccount(), password: threeByte.repeat(1025) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('password');
    expect((error as Error).message).not.toContain(threeByte);
    await expect(
      env.cb.users.create({ ...newAccount(), password: `abc\u0000defghijklmnop` }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await userCount()).toBe(before);
  });

  it('rejects passwords under the configured minimum length (in characters)', async () => {
    const { cb } = carebaseOn(database, { users: { passwordMinLength: 16 } });
    try {
      const error = await cb.users
        .create({ ...newAccount(), password: 'short but 15 ch' })
        .catch((e: unknown) => e);
      expect(isCarebaseError(error, 'VALIDATION_FAILED') && error.field).toBe('password');
      await expect(cb.users.create({ ...newAccount(), password: 'long enough, 16c' })).resolves.toBeDefined();
    } finally {
      await cb.close();
    }
  });

  it('rejects roles outside the configured allow-list', async () => {
    const error = await env.cb.users.create({ ...newAccount(), role: 'superuser' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('role');
    const { cb } = carebaseOn(database, { users: { roles: ['owner', 'member'] } });
    try {
      await expect(cb.users.create(newAccount('member'))).resolves.toMatchObject({ role: 'member' });
      await expect(cb.users.create(newAccount('nurse'))).rejects.toBeInstanceOf(ValidationError);
    } finally {
      await cb.close();
    }
  });

  it('refuses duplicate usernames and emails case-insensitively with a ConflictError naming the field', async () => {
    const account = newAccount();
    await env.cb.users.create(account);
    const byName = await env.cb.users
      .create({ ...newAccount(), username: account.username.toUpperCase() })
      .catch((e: unknown) => e);
    expect(byName).toBeInstanceOf(ConflictError);
    expect((byName as ConflictError).field).toBe('username');
    expect((byName as Error).message).not.toContain(account.username);
    const byEmail = await env.cb.users
      .create({ ...newAccount(), email: account.email.toUpperCase() })
      .catch((e: unknown) => e);
    expect(byEmail).toBeInstanceOf(ConflictError);
    expect((byEmail as ConflictError).field).toBe('email');
  });

  it('lets exactly one of two concurrent identical creates win', async () => {
    const account = newAccount();
    const results = await Promise.allSettled([env.cb.users.create(account), env.cb.users.create(account)]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(ConflictError);
    expect(['username', 'email']).toContain((rejected[0]?.reason as ConflictError | undefined)?.field);
    const rows = await env.cb.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', account.email)
      .execute();
    expect(rows).toHaveLength(1);
    const audits = await env.cb.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'user.create')
      .where('resource_id', '=', rows[0]?.id ?? '')
      .execute();
    expect(audits).toHaveLength(1);
  });

  it('audits user.create without personal data', async () => {
    const account = newAccount();
    const user = await env.cb
      .withActor({ userId: '11111111-1111-4111-8111-111111111111', ip: '10.0.0.9' })
      .users.create(account);
    const rows = await env.cb.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'user.create')
      .where('resource_id', '=', user.id)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_user_id: '11111111-1111-4111-8111-111111111111', ip: '10.0.0.9' });
    const text = JSON.stringify(rows);
    expect(text).not.toContain(account.username);
    expect(text).not.toContain(account.email);
    expect(text).not.toContain(account.password);
  });
});
