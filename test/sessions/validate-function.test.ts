import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccount, TestClock } from '../support/users.js';

/**
 * Behind a transaction pooler `sessions.validate` calls the `session_validate` function (migration
 * 0045) instead of its named prepared statement. Both forms must answer every case alike: the same
 * session, the same user fields, and the same refusals. Two instances on one database and one
 * clock, as the app role: one direct, one in pooler mode (the mode changes what carebase sends,
 * not where; test/pool/pooler.test.ts runs it through a real PgBouncer).
 */
const MINUTE = 60_000;

let database: TestDatabase;
let clock: TestClock;
let direct: Carebase;
let pooled: Carebase;
const statements: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  clock = new TestClock();
  const options = { connectionString: database.url, clock, users: { bcryptCost: 10 } };
  direct = createCarebase(options);
  pooled = createCarebase({
    ...options,
    pooler: 'transaction',
    onQuery: (event) => {
      statements.push(event.sql);
    },
  });
});

afterAll(async () => {
  await pooled?.close();
  await direct?.close();
  await database?.drop();
});

async function both(token: string) {
  const [a, b] = [await direct.sessions.validate(token), await pooled.sessions.validate(token)];
  return { direct: a, pooled: b };
}

describe('session_validate (pooler mode) against the prepared statement (direct)', () => {
  it('returns the same session and user, and runs the function', async () => {
    const user = await direct.users.create({ ...newAccount(), displayName: 'Dr. Ada' });
    const { token } = await direct.sessions.create({
      userId: user.id,
      ip: '198.51.100.7',
      userAgent: 'UA/2',
    });
    statements.length = 0;
    const found = await both(token);
    expect(found.direct?.user.id).toBe(user.id);
    expect(found.direct?.session.ip).toBe('198.51.100.7');
    expect(found.pooled).toEqual(found.direct);
    expect(statements.filter((sql) => /session_validate"?\(/.test(sql))).toHaveLength(1);
  });

  it('refuses alike: unknown, revoked, idle, expired, disabled user', async () => {
    const user = await direct.users.create(newAccount());
    const unknown = await both('A'.repeat(43));
    expect(unknown).toEqual({ direct: undefined, pooled: undefined });

    const revoked = await direct.sessions.create({ userId: user.id });
    await direct.sessions.revoke(revoked.session.id);
    expect(await both(revoked.token)).toEqual({ direct: undefined, pooled: undefined });

    const idle = await direct.sessions.create({ userId: user.id });
    expect((await both(idle.token)).pooled?.session.id).toBe(idle.session.id);
    clock.advance(16 * MINUTE);
    expect(await both(idle.token)).toEqual({ direct: undefined, pooled: undefined });

    const expired = await direct.sessions.create({ userId: user.id });
    for (let i = 0; i < 52; i++) {
      clock.advance(14 * MINUTE);
      await both(expired.token);
    }
    expect(await both(expired.token)).toEqual({ direct: undefined, pooled: undefined });

    const disabled = await direct.sessions.create({ userId: user.id });
    expect((await both(disabled.token)).pooled?.user.id).toBe(user.id);
    // Behind carebase's back (deactivate() also revokes the sessions): the status check alone.
    const owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    await owner.query(`update carebase.users set status = 'disabled' where id = $1`, [user.id]);
    await owner.end();
    expect(await both(disabled.token)).toEqual({ direct: undefined, pooled: undefined });
  });
});
