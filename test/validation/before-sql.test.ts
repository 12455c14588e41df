import { type Carebase, createCarebase, isCarebaseError, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// An instance whose server does not exist: any SQL it tried would fail with CONNECTION_FAILED,
// so a VALIDATION_FAILED from it proves the input was refused before any SQL.
let offline: Carebase;
let database: TestDatabase;
const USER = '0b5c3a4e-7f1d-4c2a-9e3b-1a2b3c4d5e6f';
const CONVERSATION = '1c6d4b5f-8a2e-4d3b-8f4c-2b3c4d5e6f70';

function deep(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

function cycle(): Record<string, unknown> {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

/** JSON values that are not storable as given, each refused with a ValidationError naming it. */
const hostileJson: [string, () => unknown][] = [
  ['4000 levels deep', () => deep(4000)],
  ['a cycle', cycle],
  ['a BigInt', () => ({ n: 10n })],
  [
    'a throwing toJSON',
    () => ({
      x: {
        toJSON: () => {
          throw new Error('boom');
        },
      },
    }),
  ],
  ['an Invalid Date', () => ({ at: new Date(Number.NaN) })],
  ['an own __proto__ key', () => JSON.parse('{"__proto__": {"admin": true}}')],
  ['a constructor key', () => ({ constructor: 'x' })],
  ['a function', () => ({ f: () => 1 })],
  ['a symbol', () => ({ s: Symbol('x') })],
  ['undefined in an array', () => ({ list: [1, undefined, 3] })],
  [
    'a hole in an array',
    () => {
      const list: unknown[] = [1];
      list[2] = 3;
      return { list };
    },
  ],
  ['NaN', () => ({ n: Number.NaN })],
  ['a Map', () => ({ m: new Map([[1, 2]]) })],
  ['a NUL in a string', () => ({ s: 'a\u0000b' })],
  ['a lone surrogate in a key', () => Object.fromEntries([['\uD800', 1]])],
  [
    'a throwing getter',
    () => ({
      get x() {
        throw new Error('boom');
      },
    }),
  ],
  ['over 256 KiB', () => ({ s: 'x'.repeat(300_000) })],
];

beforeAll(async () => {
  offline = createCarebase({
    connectionString: 'postgres://nobody@127.0.0.1:1/none',
    pool: { connectionTimeoutMs: 500 },
  });
  database = await createTestDatabase();
});

afterAll(async () => {
  await offline?.close();
  await database?.drop();
});

async function refusedBeforeSql(call: () => Promise<unknown>, field?: string): Promise<void> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCarebaseError(error, 'VALIDATION_FAILED'), String(error)).toBe(true);
  if (field !== undefined) expect((error as ValidationError).field).toBe(field);
}

describe('hostile input is a ValidationError naming the field, before any SQL', () => {
  it('refuses every kind of non-JSON in chat metadata and audit changes/metadata', async () => {
    for (const [what, make] of hostileJson) {
      const message = { userId: USER, role: 'user' as const, content: 'x', metadata: make() as never };
      await refusedBeforeSql(() => offline.chat.append(message), undefined).catch((error: unknown) => {
        throw new Error(`chat metadata with ${what}: ${String(error)}`);
      });
      for (const field of ['changes', 'metadata'] as const) {
        await refusedBeforeSql(() =>
          offline.audit.log({ action: 'chart.view', resourceType: 'chart', [field]: make() as never }),
        ).catch((error: unknown) => {
          throw new Error(`audit ${field} with ${what}: ${String(error)}`);
        });
      }
    }
    const error = await offline.audit
      .log({ action: 'chart.view', resourceType: 'chart', changes: { a: { b: [1, { c: 10n }] } } as never })
      .catch((e: unknown) => e);
    expect((error as ValidationError).field).toBe('changes.a.b.1.c');
  });

  it('refuses NUL and lone surrogates in ids and strings instead of rewriting them', async () => {
    await refusedBeforeSql(
      () => offline.chat.append({ userId: USER, role: 'user', content: 'x', id: 'a\uD800' }),
      'id',
    );
    await refusedBeforeSql(
      () => offline.chat.append({ userId: USER, role: 'user', content: 'x', id: 'a\u0000' }),
      'id',
    );
    await refusedBeforeSql(() => offline.users.findByUsername('ana\u0000'));
    await refusedBeforeSql(() => offline.sessions.revoke('abc\u0000def'));
    await refusedBeforeSql(() => offline.sessions.revoke('abc', 'why\uDC00'));
    await refusedBeforeSql(() => offline.chat.search({ userId: USER, query: 'a\uD800b' }), 'query');
    await refusedBeforeSql(
      () => offline.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: 'x\u0000' }),
      'resourceId',
    );
    await refusedBeforeSql(
      () => offline.analytics.track({ eventType: 'a', eventName: 'a', sessionId: 'tab\uD800' }),
      'sessionId',
    );
  });

  it('refuses values whose reading throws (proxies, getters) in any field', async () => {
    const trap = (): never => {
      throw new Error('trap');
    };
    const proxy = () =>
      new Proxy(
        {},
        { get: trap, ownKeys: trap, getPrototypeOf: trap, has: trap, getOwnPropertyDescriptor: trap },
      );
    await refusedBeforeSql(() =>
      offline.analytics.track({ eventType: 'a', eventName: 'a', userId: proxy() as never }),
    );
    await refusedBeforeSql(() =>
      offline.analytics.trackMany([{ eventType: 'a', eventName: 'a', data: proxy() as never }]),
    );
    await refusedBeforeSql(() =>
      offline.audit.log({ action: 'a.b', resourceType: 'x', ip: proxy() as never }),
    );
    await refusedBeforeSql(() => offline.chat.importLegacyJson(proxy() as never));
    await refusedBeforeSql(() => offline.users.authenticate(proxy() as never));
  });

  it('refuses dates outside 1900-9999 and Invalid Dates', async () => {
    const far = new Date('+020000-01-01T00:00:00Z');
    const old = new Date('1000-01-01T00:00:00Z');
    await refusedBeforeSql(() => offline.audit.query({ from: far }), 'from');
    await refusedBeforeSql(() => offline.audit.query({ to: new Date(Number.NaN) }), 'to');
    await refusedBeforeSql(() => offline.sessions.purgeExpired({ olderThan: old }), 'olderThan');
    await refusedBeforeSql(
      () => offline.analytics.track({ eventType: 'a', eventName: 'a', occurredAt: old }),
      'occurredAt',
    );
    await refusedBeforeSql(() => offline.analytics.summary({ from: old, to: new Date() }), 'from');
  });

  it('refuses forged cursors: huge ids, impossible timestamps, overflowing ranks', async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    const ts = '2026-03-02T08:00:00.000000Z';
    await refusedBeforeSql(
      () =>
        offline.chat.history({
          userId: USER,
          cursor: cursor([1, 'history-asc', ts, '99999999999999999999']),
        }),
      'cursor',
    );
    await refusedBeforeSql(
      () =>
        offline.chat.history({ userId: USER, cursor: cursor([1, 'history-asc', ts, '9223372036854775808']) }),
      'cursor',
    );
    await refusedBeforeSql(
      () =>
        offline.chat.history({
          userId: USER,
          cursor: cursor([1, 'history-asc', '2026-13-45T25:61:00.000000Z', '1']),
        }),
      'cursor',
    );
    await refusedBeforeSql(
      () => offline.chat.search({ userId: USER, query: 'x', cursor: cursor([1, 'search', '1e999', '1']) }),
      'cursor',
    );
    await refusedBeforeSql(
      () => offline.audit.query({ cursor: cursor([ts, '99999999999999999999']) }),
      'cursor',
    );
    await refusedBeforeSql(
      () => offline.users.list({ cursor: cursor(['2026-02-30 10:00:00+00', USER]) }),
      'cursor',
    );
    await refusedBeforeSql(() =>
      offline.chat.listConversations({ userId: USER, cursor: cursor([1, 'conversations', ts, 'nope']) }),
    );
    expect(CONVERSATION).toHaveLength(36);
  });
});

describe('nothing is written for a refused input (real database, app role)', () => {
  it('a lone surrogate in a chat client id writes no row and later appends work', async () => {
    const cb = database.db;
    const user = await cb.users.create({
      username: 'ana',
      email: 'ana@example.org',
      password: 'correct horse battery',
      role: 'nurse',
    });
    const before = await cb.db
      .selectFrom('chat_messages')
      .select(cb.db.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const error = await cb.chat
      .append({ userId: user.id, role: 'user', content: 'hello', id: 'retry-\uD83D' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const after = await cb.db
      .selectFrom('chat_messages')
      .select(cb.db.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    const ok = await cb.chat.append({
      userId: user.id,
      role: 'user',
      content: 'hello',
      id: 'retry-\uD83D\uDE00',
    });
    const again = await cb.chat.append({
      userId: user.id,
      role: 'user',
      content: 'hello',
      id: 'retry-\uD83D\uDE00',
    });
    expect(again.id).toBe(ok.id);
  });
});

describe('users: hostile logins fail like wrong passwords, counted and audited', () => {
  it('a NUL in login, password or user agent, or a malformed IP, returns { ok: false }', async () => {
    const cb = database.db;
    const user = await cb.users.create({
      username: 'bea',
      email: 'bea@example.org',
      password: 'correct horse battery',
      role: 'nurse',
    });
    const attempts = [
      { login: 'bea\u0000', password: 'correct horse battery' },
      { login: 'bea', password: 'correct horse battery', userAgent: 'evil\u0000agent' },
      { login: 'bea', password: 'correct horse battery', userAgent: 'evil \uD800 agent' },
      { login: 'bea', password: 'correct horse battery', ip: 'not-an-ip' },
      { login: 'bea', password: 'correct\u0000horse' },
    ];
    for (const attempt of attempts) {
      expect(await cb.users.authenticate(attempt)).toEqual({ ok: false, reason: 'invalid_credentials' });
    }
    const row = await cb.db
      .selectFrom('users')
      .select('failed_login_count')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.failed_login_count).toBe(4); // the unknown (NUL) login matches no account
    const audited = await cb.db
      .selectFrom('audit_log')
      .select(['outcome', 'user_agent', 'ip', 'metadata'])
      .where('action', '=', 'user.login')
      .where('outcome', '=', 'failure')
      .orderBy('id')
      .execute();
    expect(audited).toHaveLength(5);
    for (const entry of audited) {
      expect(entry.user_agent ?? '').not.toContain('evil');
      expect(entry.ip).toBeNull();
    }
    expect(audited.map((entry) => (entry.metadata as { refusedFields?: string[] }).refusedFields)).toEqual([
      ['login'],
      ['userAgent'],
      ['userAgent'],
      ['ip'],
      ['password'],
    ]);
    expect((await cb.users.authenticate({ login: 'bea', password: 'correct horse battery' })).ok).toBe(true);
    // A wrong shape is still a programming error.
    await expect(cb.users.authenticate({ login: 'bea' } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('wrong currentPassword guesses count toward the lockout; then even the right one is refused', async () => {
    const cb = database.db;
    const user = await cb.users.create({
      username: 'cid',
      email: 'cid@example.org',
      password: 'correct horse battery',
      role: 'nurse',
    });
    const change = (currentPassword: string) =>
      cb.users
        .changePassword(user.id, { currentPassword, newPassword: 'another long passphrase' })
        .catch((e: unknown) => e);
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const error = (await change(`wrong guess ${i}`)) as ValidationError;
      codes.push(error.issues[0]?.code ?? '');
    }
    expect(codes).toEqual([
      'invalid_current_password',
      'invalid_current_password',
      'invalid_current_password',
      'invalid_current_password',
      'account_locked',
      'account_locked',
    ]);
    const right = (await change('correct horse battery')) as ValidationError;
    expect(right.issues[0]?.code).toBe('account_locked');
    expect(await cb.users.authenticate({ login: 'cid', password: 'correct horse battery' })).toEqual({
      ok: false,
      reason: 'locked',
    });
    const lockouts = await cb.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'user.lockout')
      .where('resource_id', '=', user.id)
      .execute();
    expect(lockouts).toHaveLength(1);
  });
});
