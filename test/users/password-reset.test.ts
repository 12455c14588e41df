import { ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;
const NEW_PASSWORD = 'a brand new passphrase 2026';

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database);
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

async function requestFor(login: string) {
  const ticket = await env.cb.users.passwordReset.request({ login });
  if (!('token' in ticket)) throw new Error('rate limited');
  return ticket;
}

async function verificationFor(userId: string) {
  const ticket = await env.cb.users.emailVerification.request(userId);
  if (!('token' in ticket)) throw new Error('rate limited');
  return ticket;
}

/** Every text and bytea value of every table of the carebase schema, as text. */
async function everyStoredValue(): Promise<string> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
    );
    const parts: string[] = [];
    for (const { name } of tables) {
      const { rows } = await client.query(
        `select t::text as row, encode(convert_to(t::text, 'UTF8'), 'escape') as raw from ${client.escapeIdentifier(name)} t`,
      );
      for (const row of rows as { row: string }[]) parts.push(row.row);
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}

describe('password reset tokens (ASVS 5.0 V6.4)', () => {
  it('a token is stored only as a hash, is single-use, and a completed reset revokes every session', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const { token: sessionToken } = await env.cb.sessions.create({ userId: user.id });
    const ticket = await requestFor(account.email.toUpperCase());
    expect(ticket.recipient).toEqual({ userId: user.id, email: account.email });
    expect(ticket.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await everyStoredValue();
    expect(stored).not.toContain(ticket.token);
    expect(stored).not.toContain(Buffer.from(ticket.token, 'base64url').toString('hex'));
    const done = await env.cb.users.passwordReset.complete({
      token: ticket.token,
      newPassword: NEW_PASSWORD,
    });
    expect(done.ok).toBe(true);
    expect(await env.cb.sessions.validate(sessionToken)).toBeUndefined();
    expect((await env.cb.users.authenticate({ login: account.username, password: NEW_PASSWORD })).ok).toBe(
      true,
    );
    expect(
      await env.cb.users.passwordReset.complete({ token: ticket.token, newPassword: `${NEW_PASSWORD}!` }),
    ).toEqual({
      ok: false,
      reason: 'invalid_token',
    });
  });

  it('a rejected new password does not burn the token', async () => {
    const account = newAccount();
    await env.cb.users.create(account);
    const ticket = await requestFor(account.username);
    const error = await env.cb.users.passwordReset
      .complete({ token: ticket.token, newPassword: 'password1234' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('newPassword');
    const short = await env.cb.users.passwordReset
      .complete({ token: ticket.token, newPassword: 'short' })
      .catch((e: unknown) => e);
    expect(short).toBeInstanceOf(ValidationError);
    expect(
      (await env.cb.users.passwordReset.complete({ token: ticket.token, newPassword: NEW_PASSWORD })).ok,
    ).toBe(true);
  });

  it('a newer request, a password change and expiry each void a token', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const first = await requestFor(account.email);
    const second = await requestFor(account.email);
    expect(
      await env.cb.users.passwordReset.complete({ token: first.token, newPassword: NEW_PASSWORD }),
    ).toMatchObject({
      ok: false,
    });
    await env.cb.users.changePassword(user.id, {
      currentPassword: account.password,
      newPassword: 'another new passphrase 1',
    });
    expect(
      await env.cb.users.passwordReset.complete({ token: second.token, newPassword: NEW_PASSWORD }),
    ).toMatchObject({
      ok: false,
    });
    const third = await requestFor(account.email);
    env.clock.advance(env.cb.config.users.tokens.passwordResetTtlMs + 1);
    expect(
      await env.cb.users.passwordReset.complete({ token: third.token, newPassword: NEW_PASSWORD }),
    ).toMatchObject({
      ok: false,
    });
  });

  it('an unknown login gets the same shape, a decoy token that works nowhere, and no row', async () => {
    const before = await env.cb.db
      .selectFrom('account_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const ticket = await requestFor('nobody.here@example.org');
    expect(Object.keys(ticket).sort()).toEqual(['expiresAt', 'recipient', 'token']);
    expect(ticket.recipient).toBeNull();
    expect(ticket.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const after = await env.cb.db
      .selectFrom('account_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBeLessThanOrEqual(Number(before.n));
    expect(
      (await env.cb.users.passwordReset.complete({ token: ticket.token, newPassword: NEW_PASSWORD })).ok,
    ).toBe(false);
  });

  it('an admin issues a reset token instead of setting the password (ASVS 6.4.6)', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    const adminId = '00000000-0000-4000-8000-00000000a0a0';
    const admin = env.cb.withActor({ userId: adminId });
    const before = await env.cb.sessions.create({ userId: user.id });
    // Bad options are refused before any SQL: no token, no session revoked.
    await expect(admin.users.passwordReset.issue(user.id, { reason: 'x'.repeat(501) })).rejects.toMatchObject(
      { code: 'VALIDATION_FAILED' },
    );
    await expect(
      admin.users.passwordReset.issue(user.id, { password: 'chosen' } as never),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(await env.cb.sessions.validate(before.token)).toBeDefined();
    const ticket = await admin.users.passwordReset.issue(user.id, { reason: 'phone lost, identity checked' });
    expect(ticket.recipient?.userId).toBe(user.id);
    // The user's sessions are revoked at once; the admin never learns or chooses a password.
    expect(await env.cb.sessions.validate(before.token)).toBeUndefined();
    expect(Object.keys(ticket).sort()).toEqual(['expiresAt', 'recipient', 'token']);
    const issued = await env.cb.audit.query({ action: 'user.password_reset_issue', resourceId: user.id });
    expect(issued.items).toHaveLength(1);
    expect(issued.items[0]).toMatchObject({
      userId: adminId,
      metadata: { reason: 'phone lost, identity checked', sessionsRevoked: true },
    });
    expect(JSON.stringify(issued.items)).not.toContain(ticket.token);
    expect(
      (await env.cb.users.authenticate({ login: account.username, password: account.password })).ok,
    ).toBe(true);
    expect(
      (await env.cb.users.passwordReset.complete({ token: ticket.token, newPassword: NEW_PASSWORD })).ok,
    ).toBe(true);
    // revokeSessions: false keeps them (e.g. a reset the user asked the help desk for while logged in).
    const kept = await env.cb.sessions.create({ userId: user.id });
    await admin.users.passwordReset.issue(user.id, { revokeSessions: false });
    expect(await env.cb.sessions.validate(kept.token)).toBeDefined();
  });

  it('email verification: single-use, and void once the address changes', async () => {
    const account = newAccount();
    const user = await env.cb.users.create(account);
    expect(user.emailVerifiedAt).toBeNull();
    const ticket = await verificationFor(user.id);
    expect(ticket.email).toBe(account.email);
    const done = await env.cb.users.emailVerification.complete(ticket.token);
    expect(done.ok && done.user.emailVerifiedAt).toEqual(env.clock.now());
    expect((await env.cb.users.emailVerification.complete(ticket.token)).ok).toBe(false);
    const next = await verificationFor(user.id);
    const changed = await env.cb.users.update(user.id, { email: `new.${account.email}` });
    expect(changed.emailVerifiedAt).toBeNull();
    expect((await env.cb.users.emailVerification.complete(next.token)).ok).toBe(false);
  });
});
