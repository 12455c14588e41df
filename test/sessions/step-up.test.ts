import { ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn, newAccount } from '../support/users.js';

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

describe('sessions: authentication times and step-up (ASVS 7.5)', () => {
  it('records authenticatedAt and mfaAt; validate enforces maxAuthAgeMs and requireMfa; recordAuthentication steps up', async () => {
    const user = await env.cb.users.create(newAccount());
    const { token, session } = await env.cb.sessions.create({ userId: user.id });
    expect(session.authenticatedAt).toEqual(env.clock.now());
    expect(session.mfaAt).toBeNull();
    expect(await env.cb.sessions.validate(token, { requireMfa: true })).toBeUndefined();
    expect(await env.cb.sessions.validate(token, { maxAuthAgeMs: 60_000 })).toBeDefined();
    env.clock.advance(5 * 60_000);
    await env.cb.sessions.validate(token); // still live (idle timeout is 15 min)
    expect(await env.cb.sessions.validate(token, { maxAuthAgeMs: 60_000 })).toBeUndefined();
    const stepped = await env.cb.sessions.recordAuthentication(session.id, { mfaAt: env.clock.now() });
    expect(stepped?.authenticatedAt).toEqual(env.clock.now());
    const found = await env.cb.sessions.validate(token, { maxAuthAgeMs: 60_000, requireMfa: true });
    expect(found?.session.mfaAt).toEqual(env.clock.now());
    env.clock.advance(2 * 60_000);
    expect(await env.cb.sessions.validate(token, { maxAuthAgeMs: 60_000, requireMfa: true })).toBeUndefined();
    expect(await env.cb.sessions.validate(token, { requireMfa: true })).toBeDefined();
    await expect(env.cb.sessions.validate(token, { maxAuthAgeMs: -1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
