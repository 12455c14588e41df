import { createHash } from 'node:crypto';
import { ClosedError, NotFoundError, SESSION_PRESETS, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateSchemaForApp } from '../support/database.js';
import { carebaseOn, newAccount } from '../support/users.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

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

async function newUser(cb = env.cb) {
  return cb.users.create(newAccount());
}

async function storedLastSeen(id: string): Promise<Date> {
  const row = await env.cb.db
    .selectFrom('sessions')
    .select('last_seen_at')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.last_seen_at;
}

describe('sessions.create', () => {
  it('returns a 256-bit base64url token once and stores only its SHA-256', async () => {
    const user = await newUser();
    const { token, session } = await env.cb.sessions.create({
      userId: user.id,
      ip: '203.0.113.9',
      userAgent: 'UA/1',
    });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(JSON.stringify(session)).not.toContain(token);
    expect(session).toMatchObject({ userId: user.id, ip: '203.0.113.9', userAgent: 'UA/1', revokedAt: null });
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(12 * HOUR);
    const row = await env.cb.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', session.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash.equals(createHash('sha256').update(token).digest())).toBe(true);
    const second = await env.cb.sessions.create({ userId: user.id });
    expect(second.token).not.toBe(token);
    const audit = await env.cb.db
      .selectFrom('audit_log')
      .select(['subject_id', 'ip', 'user_agent'])
      .where('action', '=', 'session.create')
      .where('resource_id', '=', session.id)
      .execute();
    expect(audit).toEqual([{ subject_id: user.id, ip: '203.0.113.9', user_agent: 'UA/1' }]);
  });

  it('refuses unknown or disabled users, and a ttlMs above the absolute limit', async () => {
    await expect(
      env.cb.sessions.create({ userId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const user = await newUser();
    await env.cb.users.deactivate(user.id);
    await expect(env.cb.sessions.create({ userId: user.id })).rejects.toBeInstanceOf(NotFoundError);
    const active = await newUser();
    await expect(env.cb.sessions.create({ userId: active.id, ttlMs: 13 * HOUR })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const { session } = await env.cb.sessions.create({ userId: active.id, ttlMs: HOUR });
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(HOUR);
  });
});

describe('sessions.validate', () => {
  it('returns the session and its user, and undefined for unknown or malformed tokens', async () => {
    const user = await newUser();
    const { token, session } = await env.cb.sessions.create({ userId: user.id });
    const found = await env.cb.sessions.validate(token);
    expect(found?.session.id).toBe(session.id);
    expect(found?.user).toMatchObject({ id: user.id, username: user.username, role: user.role });
    expect(JSON.stringify(found)).not.toMatch(/\$2[aby]\$/);
    expect(await env.cb.sessions.validate('A'.repeat(43))).toBeUndefined();
    expect(await env.cb.sessions.validate('nope')).toBeUndefined();
    expect(await env.cb.sessions.validate(`${token}x`)).toBeUndefined();
  });

  it('expires an idle session exactly at the idle limit', async () => {
    const user = await newUser();
    const { token } = await env.cb.sessions.create({ userId: user.id });
    env.clock.advance(15 * MINUTE - 1);
    expect(await env.cb.sessions.validate(token)).toBeDefined(); // touches last_seen_at
    env.clock.advance(15 * MINUTE - 1);
    expect(await env.cb.sessions.validate(token)).toBeDefined();
    env.clock.advance(15 * MINUTE);
    expect(await env.cb.sessions.validate(token)).toBeUndefined();
  });

  it('expires an active session at the absolute limit', async () => {
    const user = await newUser();
    const { token, session } = await env.cb.sessions.create({ userId: user.id });
    // Used every 10 minutes for 12 hours: never idle, still cut off at 12 h.
    for (let elapsed = 10 * MINUTE; elapsed < 12 * HOUR; elapsed += 10 * MINUTE) {
      env.clock.advance(10 * MINUTE);
      expect(await env.cb.sessions.validate(token)).toBeDefined();
    }
    const remaining = session.expiresAt.getTime() - env.clock.now().getTime();
    env.clock.advance(remaining - 1);
    expect(await env.cb.sessions.validate(token)).toBeDefined();
    env.clock.advance(1);
    expect(await env.cb.sessions.validate(token)).toBeUndefined();
  });

  it('writes last_seen_at at most once per touch interval', async () => {
    const user = await newUser();
    const { token, session } = await env.cb.sessions.create({ userId: user.id });
    const created = session.lastSeenAt.getTime();
    env.clock.advance(30_000);
    await env.cb.sessions.validate(token);
    await env.cb.sessions.validate(token);
    expect((await storedLastSeen(session.id)).getTime()).toBe(created);
    env.clock.advance(30_000);
    const found = await env.cb.sessions.validate(token);
    expect(found?.session.lastSeenAt.getTime()).toBe(created + 60_000);
    expect((await storedLastSeen(session.id)).getTime()).toBe(created + 60_000);
    env.clock.advance(59_999);
    await env.cb.sessions.validate(token);
    expect((await storedLastSeen(session.id)).getTime()).toBe(created + 60_000);
  });

  it('stops validating a deactivated user’s sessions at once, and keeps them revoked after reactivation', async () => {
    const user = await newUser();
    const { token } = await env.cb.sessions.create({ userId: user.id });
    expect(await env.cb.sessions.validate(token)).toBeDefined();
    await env.cb.users.deactivate(user.id);
    expect(await env.cb.sessions.validate(token)).toBeUndefined();
    const rows = await env.cb.db
      .selectFrom('sessions')
      .select(['revoked_at', 'revoke_reason'])
      .where('user_id', '=', user.id)
      .execute();
    expect(rows).toMatchObject([{ revoke_reason: 'user_deactivated' }]);
    await env.cb.users.reactivate(user.id);
    expect(await env.cb.sessions.validate(token)).toBeUndefined();
  });

  it('validates inside a transaction (its connection) and refuses work after close', async () => {
    const user = await newUser();
    const { token, session } = await env.cb.sessions.create({ userId: user.id });
    const inTx = await env.cb.transaction(async (tx) => {
      await tx.sessions.revoke(session.id, 'logout');
      return tx.sessions.validate(token);
    });
    expect(inTx).toBeUndefined();
    const other = await env.cb.sessions.create({ userId: user.id });
    expect((await env.cb.transaction((tx) => tx.sessions.validate(other.token)))?.session.id).toBe(
      other.session.id,
    );
    const { cb } = carebaseOn(database);
    expect(await cb.sessions.validate(other.token)).toBeDefined();
    await cb.close();
    await expect(cb.sessions.validate(other.token)).rejects.toBeInstanceOf(ClosedError);
  });

  it('stops validating when the user is disabled by hand, without any revoke (the join checks status)', async () => {
    const user = await newUser();
    const { token } = await env.cb.sessions.create({ userId: user.id });
    await env.cb.db.updateTable('users').set({ status: 'disabled' }).where('id', '=', user.id).execute();
    expect(await env.cb.sessions.validate(token)).toBeUndefined();
  });
});

describe('sessions.revoke, revokeAllForUser, listForUser, purgeExpired', () => {
  it('revokes by token or by id, marking instead of deleting', async () => {
    const user = await newUser();
    const a = await env.cb.sessions.create({ userId: user.id });
    const b = await env.cb.sessions.create({ userId: user.id });
    expect(await env.cb.sessions.revoke(a.token, 'logout')).toBe(true);
    expect(await env.cb.sessions.revoke(a.token, 'logout')).toBe(false);
    expect(await env.cb.sessions.revoke(b.session.id)).toBe(true);
    expect(await env.cb.sessions.validate(a.token)).toBeUndefined();
    expect(await env.cb.sessions.validate(b.token)).toBeUndefined();
    const rows = await env.cb.db
      .selectFrom('sessions')
      .select(['id', 'revoked_at', 'revoke_reason'])
      .where('user_id', '=', user.id)
      .orderBy('created_at')
      .execute();
    expect(rows.map((row) => row.revoke_reason).sort()).toEqual(['logout', 'revoked']);
    expect(rows.every((row) => row.revoked_at !== null)).toBe(true);
    expect(await env.cb.sessions.revoke('00000000-0000-4000-8000-000000000000')).toBe(false);
  });

  it('revokes all of a user’s sessions except one; listForUser never shows tokens', async () => {
    const user = await newUser();
    const other = await newUser();
    const keep = await env.cb.sessions.create({ userId: user.id });
    const drop1 = await env.cb.sessions.create({ userId: user.id });
    const drop2 = await env.cb.sessions.create({ userId: user.id });
    const foreign = await env.cb.sessions.create({ userId: other.id });
    expect(await env.cb.sessions.revokeAllForUser(user.id, { exceptSessionId: keep.session.id })).toBe(2);
    expect(await env.cb.sessions.validate(keep.token)).toBeDefined();
    expect(await env.cb.sessions.validate(drop1.token)).toBeUndefined();
    expect(await env.cb.sessions.validate(drop2.token)).toBeUndefined();
    expect(await env.cb.sessions.validate(foreign.token)).toBeDefined();
    const live = await env.cb.sessions.listForUser(user.id);
    expect(live.items.map((s) => s.id)).toEqual([keep.session.id]);
    const all = await env.cb.sessions.listForUser(user.id, { includeEnded: true, limit: 2 });
    expect(all.items).toHaveLength(2);
    expect(all.nextCursor).toBeDefined();
    const rest = await env.cb.sessions.listForUser(user.id, {
      includeEnded: true,
      limit: 2,
      cursor: all.nextCursor,
    });
    expect(rest.items).toHaveLength(1);
    expect(rest.nextCursor).toBeUndefined();
    expect(new Set([...all.items, ...rest.items].map((s) => s.id)).size).toBe(3);
    const text = JSON.stringify([live, all, rest]);
    for (const token of [keep.token, drop1.token, drop2.token]) expect(text).not.toContain(token);
    expect(text).not.toContain('token');
  });

  it('purges sessions that ended before the cutoff and keeps the rest', async () => {
    // Its own schema, so other tests' sessions are not counted.
    await migrateSchemaForApp(database, 'purge_test');
    const { cb, clock } = carebaseOn(database, { schema: 'purge_test' });
    try {
      const user = await newUser(cb);
      const revoked = await cb.sessions.create({ userId: user.id });
      await cb.sessions.revoke(revoked.token);
      const short = await cb.sessions.create({ userId: user.id, ttlMs: HOUR });
      const idle = await cb.sessions.create({ userId: user.id });
      clock.advance(2 * HOUR);
      const live = await cb.sessions.create({ userId: user.id });
      expect(await cb.sessions.purgeExpired({ olderThan: clock.now() })).toBe(3);
      const left = await cb.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
      expect(left.map((row) => row.id)).toEqual([live.session.id]);
      expect([revoked, short, idle].map((s) => s.session.id)).not.toContain(live.session.id);
      // The default cutoff (30 days back) keeps recently ended sessions.
      await cb.sessions.revoke(live.token);
      expect(await cb.sessions.purgeExpired()).toBe(0);
    } finally {
      await cb.close();
    }
  });
});

describe('session presets', () => {
  it('defaults to the hipaa preset and lets explicit timeouts override a preset', async () => {
    expect(SESSION_PRESETS.hipaa).toEqual({ idleTimeoutMs: 15 * MINUTE, absoluteTimeoutMs: 12 * HOUR });
    expect(env.cb.config.sessions).toMatchObject({
      preset: 'hipaa',
      idleTimeoutMs: 15 * MINUTE,
      absoluteTimeoutMs: 12 * HOUR,
    });
    const { cb, clock } = carebaseOn(database, { sessions: { preset: 'strict' } });
    try {
      expect(cb.config.sessions).toMatchObject({ idleTimeoutMs: 5 * MINUTE, absoluteTimeoutMs: HOUR });
      const user = await newUser(cb);
      const { token, session } = await cb.sessions.create({ userId: user.id });
      expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(HOUR);
      clock.advance(5 * MINUTE);
      expect(await cb.sessions.validate(token)).toBeUndefined();
    } finally {
      await cb.close();
    }
    const { cb: custom } = carebaseOn(database, {
      sessions: { preset: 'standard', idleTimeoutMs: 30 * MINUTE },
    });
    try {
      expect(custom.config.sessions).toMatchObject({
        idleTimeoutMs: 30 * MINUTE,
        absoluteTimeoutMs: 7 * 24 * HOUR,
      });
    } finally {
      await custom.close();
    }
  });
});
