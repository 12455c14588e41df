import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccount, TestClock } from '../support/users.js';

/**
 * Behind a transaction pooler `sessions.validate` calls the `session_validate_json` function
 * (migration 0050; its row as one JSON array) instead of its named prepared statement, and concurrent
 * calls share `session_validate_json_many` (0051). Both forms must answer every case alike: the same
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

/** Runs `fn` on a connection as the schema owner (changes behind carebase's back), then closes it. */
async function asOwner(fn: (owner: pg.Client) => Promise<unknown>): Promise<void> {
  const owner = new pg.Client({ connectionString: database.ownerUrl });
  await owner.connect();
  try {
    await fn(owner);
  } finally {
    await owner.end();
  }
}

describe('session_validate_json (pooler mode) against the prepared statement (direct)', () => {
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
    expect(statements.filter((sql) => /session_validate_json"?\(/.test(sql))).toHaveLength(1);
  });

  it('returns every user and session time alike: microseconds, set and unset, infinity', async () => {
    const user = await direct.users.create({ ...newAccount(), displayName: 'Dr. Grace' });
    const { token, session } = await direct.sessions.create({ userId: user.id });
    const before = await both(token);
    expect(before.pooled).toEqual(before.direct);
    expect(before.direct?.user.lastLoginAt).toBeNull();
    await asOwner(async (owner) => {
      await owner.query(
        `update carebase.users set locked_until = 'infinity', last_login_at = '2026-01-02 03:04:05.678901+05:30',
           approved_at = '1999-12-31 23:59:59.999999+00', email_verified_at = '2026-03-04 05:06:07.1+00',
           failed_login_count = 2 where id = $1`,
        [user.id],
      );
      await owner.query(
        `update carebase.sessions set mfa_at = created_at, authenticated_at = created_at + interval '1.234567 second'
          where id = $1`,
        [session.id],
      );
    });
    const after = await both(token);
    expect(after.direct?.user.lastLoginAt).toEqual(new Date('2026-01-01T21:34:05.678Z'));
    expect(after.direct?.user.failedLoginCount).toBe(2);
    expect(after.direct?.session.mfaAt).not.toBeNull();
    expect(after.pooled).toEqual(after.direct);
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
    await asOwner((owner) =>
      owner.query(`update carebase.users set status = 'disabled' where id = $1`, [user.id]),
    );
    expect(await both(disabled.token)).toEqual({ direct: undefined, pooled: undefined });
  });
});

describe('concurrent validations behind a pooler share statements (ValidateBatcher)', () => {
  /** A direct and a pooler-mode instance that record every statement they send. */
  function recorded() {
    const sent = { direct: [] as string[], pooled: [] as string[] };
    const options = { connectionString: database.url, clock, users: { bcryptCost: 10 } };
    return {
      sent,
      direct: createCarebase({ ...options, onQuery: (event) => void sent.direct.push(event.sql) }),
      pooled: createCarebase({
        ...options,
        pooler: 'transaction',
        onQuery: (event) => void sent.pooled.push(event.sql),
      }),
    };
  }

  it('answers each of 88 concurrent calls as it answers it alone; behind a pooler in a fraction of the statements', async () => {
    const tokens: string[] = ['A'.repeat(43)];
    for (let i = 0; i < 6; i++) {
      const user = await direct.users.create({ ...newAccount(), displayName: `Dr. ${i}` });
      tokens.push((await direct.sessions.create({ userId: user.id, ip: `198.51.100.${i}` })).token);
    }
    const revoked = await direct.sessions.create({ userId: (await direct.users.create(newAccount())).id });
    await direct.sessions.revoke(revoked.session.id);
    const expired = await direct.sessions.create({ userId: (await direct.users.create(newAccount())).id });
    const idle = await direct.sessions.create({ userId: (await direct.users.create(newAccount())).id });
    const disabledUser = await direct.users.create(newAccount());
    const disabled = await direct.sessions.create({ userId: disabledUser.id });
    await asOwner(async (owner) => {
      // Relative to the instances' clock, not the server's.
      const at = clock.now().getTime();
      await owner.query(
        'update carebase.sessions set created_at = $2::timestamptz - interval $$1 hour$$, expires_at = $2 where id = $1',
        [expired.session.id, new Date(at - 1000)],
      );
      await owner.query('update carebase.sessions set last_seen_at = $2 where id = $1', [
        idle.session.id,
        new Date(at - 24 * 60 * MINUTE),
      ]);
      await owner.query(`update carebase.users set status = 'disabled' where id = $1`, [disabledUser.id]);
    });
    tokens.push(revoked.token, expired.token, idle.token, disabled.token);

    const { sent, direct: a, pooled: b } = recorded();
    try {
      for (const [name, instance] of [
        ['direct', a],
        ['pooled', b],
      ] as const) {
        const alone = new Map<string, unknown>();
        for (const token of tokens) alone.set(token, await instance.sessions.validate(token));
        expect([...alone.values()].filter((found) => found !== undefined)).toHaveLength(6);
        sent[name].length = 0;
        // Eight rounds of every token, interleaved: duplicates land in one statement too.
        const calls = Array.from({ length: 8 }, () => tokens).flat();
        const answers = await Promise.all(calls.map((token) => instance.sessions.validate(token)));
        answers.forEach((answer, i) => {
          expect(answer, `${name} call ${i}`).toEqual(alone.get(calls[i] as string));
        });
        if (name === 'pooled') {
          // Behind a pooler the calls share session_validate_json_many statements.
          expect(
            sent.pooled.filter((sql) => sql.includes('session_validate_json_many')).length,
          ).toBeGreaterThan(0);
          expect(sent.pooled.length, `statements for ${calls.length} calls`).toBeLessThanOrEqual(
            calls.length / 4,
          );
        } else {
          // Connected directly each call is its own named prepared statement (see ValidateBatcher).
          expect(sent.direct).toHaveLength(calls.length);
        }
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('behind a pooler, calls made together go out together: eight calls, two statements of four', async () => {
    const user = await direct.users.create(newAccount());
    const { token } = await direct.sessions.create({ userId: user.id });
    const { sent, pooled, direct: unused } = recorded();
    try {
      await pooled.sessions.validate(token);
      sent.pooled.length = 0;
      const answers = await Promise.all(Array.from({ length: 8 }, () => pooled.sessions.validate(token)));
      expect(answers.map((answer) => answer?.user.id)).toEqual(answers.map(() => user.id));
      // Sent on arrival, the first two went alone and the other six waited for one of them:
      // three statements. Now the calls of one run of microtasks (which also holds the callers a
      // returning statement resumes) fill the two slots evenly.
      expect(sent.pooled.map((sql) => (sql.includes('session_validate_json_many') ? 'many' : 'one'))).toEqual(
        ['many', 'many'],
      );
    } finally {
      await pooled.close();
      await unused.close();
    }
  });

  it('calls made before close() are all answered, directly and behind a pooler, and close() waits for them', async () => {
    const user = await direct.users.create(newAccount());
    const { token } = await direct.sessions.create({ userId: user.id });
    const { direct: a, pooled: b } = recorded();
    for (const instance of [a, b]) {
      // More calls than the pool has connections: pg-pool queues the direct ones, the batcher the
      // pooled ones (see test/pool/close-queued.test.ts).
      const calls = Array.from({ length: 40 }, () => instance.sessions.validate(token));
      await instance.close();
      const answers = await Promise.all(calls);
      expect(answers.map((answer) => answer?.user.id)).toEqual(answers.map(() => user.id));
      await expect(instance.sessions.validate(token)).rejects.toMatchObject({ code: 'CLOSED' });
    }
  });

  it('without migration 0051 (code upgraded before migrate()), every call is answered alone', async () => {
    const user = await direct.users.create(newAccount());
    const { token } = await direct.sessions.create({ userId: user.id });
    const warnings: string[] = [];
    const noop = () => undefined;
    const pooledOld = createCarebase({
      connectionString: database.url,
      clock,
      pooler: 'transaction',
      logger: { debug: noop, info: noop, error: noop, warn: (_obj, msg) => void warnings.push(msg ?? '') },
    });
    const rename = (from: string, to: string) =>
      asOwner((owner) =>
        owner.query(`alter function carebase.${from}(bytea[], timestamptz[], timestamptz[]) rename to ${to}`),
      );
    await rename('session_validate_json_many', 'session_validate_json_many_away');
    try {
      for (let round = 0; round < 2; round++) {
        const answers = await Promise.all(
          Array.from({ length: 30 }, () => pooledOld.sessions.validate(token)),
        );
        expect(answers.map((answer) => answer?.user.id)).toEqual(answers.map(() => user.id));
      }
      expect(warnings.filter((message) => message.includes('session_validate_json_many'))).toHaveLength(1);
    } finally {
      await rename('session_validate_json_many_away', 'session_validate_json_many');
      await pooledOld.close();
    }
  });
});
