import { randomUUID } from 'node:crypto';
import { type Carebase, createCarebase, isCarebaseError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Property: every public method that takes input, called with anything (valid, malformed or
// hostile), either succeeds or throws a CarebaseError (never a raw error), and a call that throws
// leaves the row count of every carebase table unchanged (nothing written). Runs as the
// least-privilege app role. CAREBASE_FUZZ_RUNS sets the number of calls (default 3000);
// CAREBASE_FUZZ_SEED replays a run.
const RUNS = Number(process.env.CAREBASE_FUZZ_RUNS ?? 3000);
const SEED =
  process.env.CAREBASE_FUZZ_SEED === undefined ? undefined : Number(process.env.CAREBASE_FUZZ_SEED);

const TABLES = [
  'users',
  'sessions',
  'account_tokens',
  'auth_rate_limits',
  'user_mfa',
  'mfa_backup_codes',
  'mfa_challenges',
  'conversations',
  'chat_messages',
  'audit_log',
  'audit_chain',
  'audit_chain_head',
  'audit_seal_state',
  'analytics_events',
  'analytics_user_keys',
  'analytics_rollup_hourly',
  'analytics_rollup_hourly_users',
  'analytics_rollup_state',
  'analytics_rollup_dirty',
  'analytics_rollup_hourly_measures',
  'analytics_rollup_hourly_sketch',
  'analytics_rollup_daily_sketch',
  'partitioned_tables',
  'schema_migrations',
] as const;

let database: TestDatabase;
/** The instance the calls use: `online`, or `offline` while a refusal is replayed. */
let cb: Carebase;
let online: Carebase;
// No server behind it: any SQL fails with CONNECTION_FAILED, so an input it refuses with
// VALIDATION_FAILED was refused before any SQL.
let offline: Carebase;
let owner: pg.Client;
let userId: string;
let conversationId: string;
let sessionToken: string;
let sessionId: string;
const PASSWORD = 'correct horse battery staple';
const MFA_KEY = Buffer.alloc(32, 7);

beforeAll(async () => {
  database = await createTestDatabase({ role: 'app' });
  cb = createCarebase({
    connectionString: database.url,
    users: { bcryptCost: 10, mfa: { encryptionKey: MFA_KEY } },
    analytics: { autoRefreshIntervalMs: 0 },
    pool: { max: 4 },
  });
  online = cb;
  offline = createCarebase({
    connectionString: 'postgres://nobody@127.0.0.1:1/none',
    users: { bcryptCost: 10, mfa: { encryptionKey: MFA_KEY } },
    analytics: { autoRefreshIntervalMs: 0 },
    pool: { connectionTimeoutMs: 1000 },
  });
  owner = new pg.Client({ connectionString: database.ownerUrl });
  owner.on('error', () => {});
  await owner.connect();
  const user = await cb.users.create({
    username: 'fuzz',
    email: 'fuzz@example.org',
    password: PASSWORD,
    role: 'nurse',
  });
  userId = user.id;
  conversationId = (await cb.chat.createConversation({ userId, title: 'seed' })).id;
  await cb.chat.append({ userId, conversationId, role: 'user', content: 'chest pain follow-up' });
  const session = await cb.sessions.create({ userId });
  sessionToken = session.token;
  sessionId = session.session.id;
  await cb.analytics.track({ userId, eventType: 'feature', eventName: 'chat.open' });
});

afterAll(async () => {
  await owner?.end();
  await offline?.close();
  await online?.close();
  await database?.drop();
});

async function rowCounts(): Promise<Record<string, number>> {
  const { rows } = await owner.query<Record<string, string>>(
    `select ${TABLES.map((table) => `(select count(*) from carebase.${table}) as ${table}`).join(', ')}`,
  );
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([key, value]) => [key, Number(value)]));
}

// ---- values ---------------------------------------------------------------------------------

function deep(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** A hostile object in a box, so fast-check neither inspects nor prints it; see {@link unbox}. */
class Hostile {
  constructor(readonly index: number) {}
  toString(): string {
    return `Hostile(${this.index})`;
  }
}

/** Replaces boxed hostile objects (at any depth of arrays and plain objects) by fresh ones. */
function unbox(value: unknown): unknown {
  if (value instanceof Hostile) return (hostileObjects()[value.index] as () => unknown)();
  if (Array.isArray(value)) return value.map(unbox);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unbox(inner)]));
  }
  return value;
}

/** Makers of hostile objects, built fresh for each call (fast-check never inspects them). */
function hostileObjects(): (() => unknown)[] {
  const trap = (): never => {
    throw new Error('trap');
  };
  class Patient {
    name = 'x';
  }
  return [
    () => deep(4000),
    () => deep(40),
    () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      return cyclic;
    },
    () =>
      new Proxy(
        {},
        { get: trap, ownKeys: trap, getPrototypeOf: trap, has: trap, getOwnPropertyDescriptor: trap },
      ),
    () => Object.defineProperty({}, 'x', { enumerable: true, get: trap }),
    () => JSON.parse('{"__proto__": {"admin": true}}'),
    () => ({ constructor: 1 }),
    () => ({ toJSON: trap }),
    () => ({ n: 10n }),
    () => ({ f: () => 1 }),
    () => ({ [Symbol('s')]: 1 }),
    () => new Map([[1, 2]]),
    () => new Patient(),
    () => Buffer.from('x'),
    () => [1, undefined, 2],
    () => ({ at: new Date(Number.NaN) }),
    () => ({ big: 'x'.repeat(300_000) }),
    () => Object.create(null),
  ];
}

const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\uD800',
    'x\uDC00y',
    '\uD83D',
    "'; drop table carebase.users; --",
    '\u202Eevil',
    ' ',
    '%00',
    'x'.repeat(10_000),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

const hostileNumber = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, -1, 0, 1e308, 2 ** 53, 2 ** 63, 1.5),
  fc.integer(),
  fc.double(),
);

const hostileDate = fc.oneof(
  fc.constant(new Date(Number.NaN)),
  fc.constant(new Date(8.64e15)),
  fc.constant(new Date(-8.64e15)),
  fc.constant(new Date('1000-01-01T00:00:00Z')),
  fc.constant(new Date('+020000-01-01T00:00:00Z')),
  fc.date({ min: new Date('1899-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
);

/** Anything at all: primitives of every type, hostile strings and objects, arbitrary values. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  hostileDate,
  fc.constantFrom(null, undefined, true, false, 10n, Symbol('x'), () => 1),
  fc.integer({ min: 0, max: hostileObjects().length - 1 }).map((i) => new Hostile(i)),
  fc.anything({ maxDepth: 3 }),
);

const recent = fc.date({
  min: new Date(Date.now() - 60 * 86_400_000),
  max: new Date(Date.now() + 3_600_000),
  noInvalidDate: true,
});
const anyUuid = fc.oneof(fc.uuid(), fc.constant(randomUUID()));
const knownUser = fc.constantFrom(() => userId).map((f) => f());
const userRef = fc.oneof({ weight: 3, arbitrary: knownUser }, { weight: 1, arbitrary: anyUuid });
const convRef = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(() => conversationId).map((f) => f()) },
  { weight: 1, arbitrary: anyUuid },
);
const json = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  },
  { weight: 1, arbitrary: hostile },
);
const text = (max = 30) => fc.string({ maxLength: max });
const limit = fc.integer({ min: -5, max: 2000 });

/** A field: usually a plausible value, sometimes anything. */
function field<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostile });
}

/** An input object with any subset of `shape`'s fields, sometimes an extra key, sometimes anything. */
function input(shape: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const fields = Object.fromEntries(Object.entries(shape).map(([key, arb]) => [key, field(arb)]));
  return fc.oneof(
    { weight: 8, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.record(fields).map((value) => ({ ...value, extra: 1 })) },
    { weight: 1, arbitrary: hostile },
  );
}

// ---- calls ----------------------------------------------------------------------------------

/** Drains a stream or async iterable, so errors raised while reading surface here. */
async function drain(value: unknown): Promise<void> {
  for await (const _ of value as AsyncIterable<unknown>) {
    // read everything
  }
}

type Call = { readonly name: string; readonly args: unknown[]; readonly run: () => Promise<unknown> };
// biome-ignore lint/suspicious/noExplicitAny: the fuzz calls public methods with anything on purpose
type Loose = (...args: any[]) => any;

function call(
  name: string,
  argArbs: fc.Arbitrary<unknown>[],
  fn: (...args: unknown[]) => unknown,
): fc.Arbitrary<Call> {
  return fc.tuple(...argArbs).map((args) => ({
    name,
    args,
    run: async () => fn(...args.map(unbox)),
  }));
}

const loose = (method: unknown): Loose => method as Loose;

const calls: fc.Arbitrary<Call>[] = [
  // users
  call(
    'users.create',
    [
      input({
        username: text(20),
        email: fc.emailAddress(),
        password: fc.constant(PASSWORD),
        role: fc.constantFrom('nurse', 'admin', 'x'),
        displayName: text(),
      }),
    ],
    (a) => loose(cb.users.create.bind(cb.users))(a),
  ),
  call('users.findById', [field(userRef)], (a) => loose(cb.users.findById.bind(cb.users))(a)),
  call('users.getById', [field(userRef)], (a) => loose(cb.users.getById.bind(cb.users))(a)),
  call('users.findByUsername', [field(text())], (a) => loose(cb.users.findByUsername.bind(cb.users))(a)),
  call('users.findByEmail', [field(fc.emailAddress())], (a) => loose(cb.users.findByEmail.bind(cb.users))(a)),
  call(
    'users.list',
    [
      input({
        role: text(),
        status: fc.constantFrom('active', 'disabled'),
        search: text(),
        limit,
        cursor: text(60),
      }),
    ],
    (a) => loose(cb.users.list.bind(cb.users))(a),
  ),
  call(
    'users.update',
    [field(anyUuid), input({ displayName: text(), username: text(), email: fc.emailAddress() })],
    (a, b) => loose(cb.users.update.bind(cb.users))(a, b),
  ),
  call('users.setRole', [field(anyUuid), field(text())], (a, b) =>
    loose(cb.users.setRole.bind(cb.users))(a, b),
  ),
  call('users.deactivate', [field(anyUuid)], (a) => loose(cb.users.deactivate.bind(cb.users))(a)),
  call('users.reactivate', [field(anyUuid)], (a) => loose(cb.users.reactivate.bind(cb.users))(a)),
  call('users.unlock', [field(anyUuid)], (a) => loose(cb.users.unlock.bind(cb.users))(a)),
  call(
    'users.changePassword',
    [field(anyUuid), input({ currentPassword: text(), newPassword: text(80), exceptSessionId: anyUuid })],
    (a, b) => loose(cb.users.changePassword.bind(cb.users))(a, b),
  ),
  call(
    'users.authenticate',
    [
      input({
        login: fc.constantFrom('fuzz', 'FUZZ@example.org', 'nobody'),
        password: text(),
        ip: fc.ipV4(),
        userAgent: text(),
      }),
    ],
    (a) => loose(cb.users.authenticate.bind(cb.users))(a),
  ),
  call(
    'users.register',
    [
      input({
        username: text(20),
        email: fc.emailAddress(),
        password: fc.constantFrom(PASSWORD, 'password1234', 'ü'.repeat(80)),
        role: fc.constantFrom('nurse', 'x'),
        displayName: text(),
      }),
      input({ autoApprove: fc.boolean() }),
    ],
    (a, b) => loose(cb.users.register.bind(cb.users))(a, b),
  ),
  call('users.approve', [field(userRef)], (a) => loose(cb.users.approve.bind(cb.users))(a)),
  call('users.reject', [field(anyUuid), input({ reason: text() })], (a, b) =>
    loose(cb.users.reject.bind(cb.users))(a, b),
  ),
  call(
    'users.passwordReset.request',
    [
      input({
        login: fc.constantFrom('fuzz', 'fuzz@example.org', 'nobody'),
        ip: fc.ipV4(),
        userAgent: text(),
      }),
    ],
    (a) => loose(cb.users.passwordReset.request.bind(cb.users.passwordReset))(a),
  ),
  call('users.passwordReset.issue', [field(userRef)], (a) =>
    loose(cb.users.passwordReset.issue.bind(cb.users.passwordReset))(a),
  ),
  call(
    'users.passwordReset.complete',
    [
      input({
        token: text(43),
        newPassword: fc.constantFrom('a new fuzzing passphrase', 'short', '\u0000'),
        ip: fc.ipV6(),
      }),
    ],
    (a) => loose(cb.users.passwordReset.complete.bind(cb.users.passwordReset))(a),
  ),
  call('users.emailVerification.request', [field(userRef)], (a) =>
    loose(cb.users.emailVerification.request.bind(cb.users.emailVerification))(a),
  ),
  call('users.emailVerification.complete', [field(text(43))], (a) =>
    loose(cb.users.emailVerification.complete.bind(cb.users.emailVerification))(a),
  ),
  call('users.mfa.beginTotpEnrollment', [field(userRef)], (a) =>
    loose(cb.users.mfa.beginTotpEnrollment.bind(cb.users.mfa))(a),
  ),
  call('users.mfa.confirmTotpEnrollment', [field(userRef), field(fc.stringMatching(/^\d{6}$/))], (a, b) =>
    loose(cb.users.mfa.confirmTotpEnrollment.bind(cb.users.mfa))(a, b),
  ),
  call(
    'users.mfa.verify',
    [input({ challenge: text(43), code: fc.oneof(fc.stringMatching(/^\d{6}$/), text(19)), ip: fc.ipV4() })],
    (a) => loose(cb.users.mfa.verify.bind(cb.users.mfa))(a),
  ),
  call('users.mfa.regenerateBackupCodes', [field(userRef)], (a) =>
    loose(cb.users.mfa.regenerateBackupCodes.bind(cb.users.mfa))(a),
  ),
  call('users.mfa.status', [field(userRef)], (a) => loose(cb.users.mfa.status.bind(cb.users.mfa))(a)),
  call('users.mfa.reset', [field(anyUuid)], (a) => loose(cb.users.mfa.reset.bind(cb.users.mfa))(a)),
  call('users.exportData', [field(anyUuid)], (a) => loose(cb.users.exportData.bind(cb.users))(a)),
  call('users.erase', [field(anyUuid)], (a) => loose(cb.users.erase.bind(cb.users))(a)),
  // sessions
  call(
    'sessions.create',
    [input({ userId: userRef, ip: fc.ipV6(), userAgent: text(), ttlMs: fc.integer() })],
    (a) => loose(cb.sessions.create.bind(cb.sessions))(a),
  ),
  call(
    'sessions.validate',
    [
      field(fc.constantFrom(() => sessionToken).map((f) => f())),
      fc.option(input({ maxAuthAgeMs: fc.integer(), requireMfa: fc.boolean() })),
    ],
    (a, b) => loose(cb.sessions.validate.bind(cb.sessions))(a, b ?? undefined),
  ),
  call('sessions.recordAuthentication', [field(anyUuid), input({ mfaAt: recent })], (a, b) =>
    loose(cb.sessions.recordAuthentication.bind(cb.sessions))(a, b),
  ),
  call('sessions.revoke', [field(anyUuid), field(fc.constantFrom('logout', 'x y'))], (a, b) =>
    loose(cb.sessions.revoke.bind(cb.sessions))(a, b),
  ),
  call(
    'sessions.revokeAllForUser',
    [
      field(anyUuid),
      input({ exceptSessionId: fc.constantFrom(() => sessionId).map((f) => f()), reason: text() }),
    ],
    (a, b) => loose(cb.sessions.revokeAllForUser.bind(cb.sessions))(a, b),
  ),
  call(
    'sessions.listForUser',
    [field(userRef), input({ includeEnded: fc.boolean(), limit, cursor: text(60) })],
    (a, b) => loose(cb.sessions.listForUser.bind(cb.sessions))(a, b),
  ),
  call('sessions.purgeExpired', [input({ olderThan: recent })], (a) =>
    loose(cb.sessions.purgeExpired.bind(cb.sessions))(a),
  ),
  // chat
  call('chat.createConversation', [input({ userId: userRef, title: text(), metadata: json })], (a) =>
    loose(cb.chat.createConversation.bind(cb.chat))(a),
  ),
  call('chat.getConversation', [input({ userId: userRef, conversationId: convRef })], (a) =>
    loose(cb.chat.getConversation.bind(cb.chat))(a),
  ),
  call('chat.listConversations', [input({ userId: userRef, limit, cursor: text(60) })], (a) =>
    loose(cb.chat.listConversations.bind(cb.chat))(a),
  ),
  call('chat.renameConversation', [input({ userId: userRef, conversationId: convRef, title: text() })], (a) =>
    loose(cb.chat.renameConversation.bind(cb.chat))(a),
  ),
  call('chat.deleteConversation', [input({ userId: userRef, conversationId: anyUuid })], (a) =>
    loose(cb.chat.deleteConversation.bind(cb.chat))(a),
  ),
  call(
    'chat.append',
    [
      input({
        userId: userRef,
        conversationId: convRef,
        role: fc.constantFrom('user', 'assistant', 'robot'),
        content: text(200),
        metadata: json,
        id: text(20),
      }),
    ],
    (a) => loose(cb.chat.append.bind(cb.chat))(a),
  ),
  call(
    'chat.appendMany',
    [
      field(
        fc.array(
          input({
            userId: userRef,
            role: fc.constantFrom('user', 'tool'),
            content: text(),
            metadata: json,
            id: text(10),
          }),
          { maxLength: 4 },
        ),
      ),
    ],
    (a) => loose(cb.chat.appendMany.bind(cb.chat))(a),
  ),
  call(
    'chat.history',
    [
      input({
        userId: userRef,
        conversationId: convRef,
        limit,
        cursor: text(60),
        offset: fc.integer(),
        order: fc.constantFrom('asc', 'desc'),
      }),
    ],
    (a) => loose(cb.chat.history.bind(cb.chat))(a),
  ),
  call('chat.latest', [input({ userId: userRef, conversationId: convRef, n: limit })], (a) =>
    loose(cb.chat.latest.bind(cb.chat))(a),
  ),
  call('chat.search', [input({ userId: userRef, query: text(), limit, cursor: text(60) })], (a) =>
    loose(cb.chat.search.bind(cb.chat))(a),
  ),
  call('chat.clear', [input({ userId: anyUuid, conversationId: anyUuid })], (a) =>
    loose(cb.chat.clear.bind(cb.chat))(a),
  ),
  call(
    'chat.export',
    [
      input({
        userId: userRef,
        conversationId: convRef,
        format: fc.constantFrom('jsonl', 'json', 'csv', 'xml'),
      }),
    ],
    async (a) => drain(loose(cb.chat.export.bind(cb.chat))(a)),
  ),
  call(
    'chat.importLegacyJson',
    [
      fc.oneof(
        fc.dictionary(
          fc.constantFrom('fuzz', 'ghost', '__proto__'),
          fc.array(input({ role: fc.constantFrom('user', 'assistant'), content: text() }), { maxLength: 3 }),
          { maxKeys: 2 },
        ),
        hostile,
      ),
      input({ createMissingUsers: fc.constant(false), role: text(), batchSize: limit }),
    ],
    (a, b) => loose(cb.chat.importLegacyJson.bind(cb.chat))(a, b),
  ),
  call('chat.applyRetention', [input({ olderThanDays: fc.integer({ min: 3000, max: 40_000 }) })], (a) =>
    loose(cb.chat.applyRetention.bind(cb.chat))(a),
  ),
  // audit
  call(
    'audit.log',
    [
      input({
        action: fc.constantFrom('chart.view', 'Bad Action'),
        resourceType: text(),
        resourceId: text(),
        subjectId: text(),
        outcome: fc.constantFrom('success', 'failure'),
        outcomeDetail: text(),
        userId: userRef,
        ip: fc.ipV4(),
        userAgent: text(),
        requestId: text(),
        changes: json,
        metadata: json,
        occurredAt: recent,
      }),
    ],
    (a) => loose(cb.audit.log.bind(cb.audit))(a),
  ),
  call(
    'audit.query',
    [
      input({
        userId: userRef,
        action: text(),
        resourceType: text(),
        from: recent,
        to: recent,
        limit,
        cursor: text(60),
      }),
    ],
    (a) => loose(cb.audit.query.bind(cb.audit))(a),
  ),
  call('audit.verify', [input({ from: recent, to: recent })], (a) =>
    loose(cb.audit.verify.bind(cb.audit))(a),
  ),
  call(
    'audit.export',
    [input({ from: recent, to: recent, format: fc.constantFrom('jsonl', 'csv'), batchSize: limit })],
    async (a) => drain(loose(cb.audit.export.bind(cb.audit))(a)),
  ),
  call('audit.applyRetention', [input({ now: recent })], (a) =>
    loose(cb.audit.applyRetention.bind(cb.audit))(a),
  ),
  // analytics
  call(
    'analytics.track',
    [
      input({
        userId: userRef,
        sessionId: text(),
        eventType: fc.constantFrom('feature', 'Bad'),
        eventName: fc.constantFrom('chat.open', 'x'),
        data: json,
        measures: fc.constantFrom({ tokens: 1 }, { costUsd: '0.01' }, { x: Number.NaN }, null),
        occurredAt: recent,
      }),
    ],
    (a) => loose(cb.analytics.track.bind(cb.analytics))(a),
  ),
  call(
    'analytics.trackMany',
    [
      field(
        fc.array(
          input({
            userId: userRef,
            eventType: fc.constant('feature'),
            eventName: fc.constant('chat.open'),
            data: json,
            occurredAt: recent,
          }),
          { maxLength: 5 },
        ),
      ),
      input({ onInvalid: fc.constantFrom('fail', 'skip') }),
    ],
    (a, b) => loose(cb.analytics.trackMany.bind(cb.analytics))(a, b),
  ),
  call(
    'analytics.summary',
    [input({ from: recent, to: recent, eventType: text(), eventName: text(), userId: userRef })],
    (a) => loose(cb.analytics.summary.bind(cb.analytics))(a),
  ),
  call(
    'analytics.timeseries',
    [
      input({
        from: recent,
        to: recent,
        bucket: fc.constantFrom('hour', 'day', 'week', 'year'),
        eventName: text(),
        timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Olympus'),
        percentiles: fc.constantFrom(true, false, ['latencyMs'], 'all'),
      }),
    ],
    (a) => loose(cb.analytics.timeseries.bind(cb.analytics))(a),
  ),
  call(
    'analytics.funnel',
    [
      input({
        steps: fc.constantFrom(['chat.open', 'x'], ['chat.open'], ['x', 'x'], ['Bad', 'x'], 'chat.open'),
        within: fc.constantFrom(1, 3_600_000, 0, -5, 1e12, 1.5),
        from: recent,
        to: recent,
        by: fc.constantFrom('user', 'session', 'bot'),
      }),
    ],
    (a) => loose(cb.analytics.funnel.bind(cb.analytics))(a),
  ),
  call(
    'analytics.retention',
    [
      input({
        cohortEvent: fc.constantFrom('chat.open', 'Bad'),
        returnEvent: fc.constantFrom('chat.open', 'x'),
        period: fc.constantFrom('day', 'week', 'month'),
        from: recent,
        to: recent,
        cohort: fc.constantFrom('first', 'recurring', 'x'),
        timezone: fc.constantFrom('UTC', 'Mars/Olympus'),
      }),
    ],
    (a) => loose(cb.analytics.retention.bind(cb.analytics))(a),
  ),
  call(
    'analytics.activeUsers',
    [input({ from: recent, to: recent, bucket: fc.constantFrom('day', 'week', 'month') })],
    (a) => loose(cb.analytics.activeUsers.bind(cb.analytics))(a),
  ),
  call('analytics.topEvents', [input({ from: recent, to: recent, limit, eventType: text() })], (a) =>
    loose(cb.analytics.topEvents.bind(cb.analytics))(a),
  ),
  call('analytics.applyRetention', [input({ keepMonths: fc.integer({ min: 100, max: 2000 }) })], (a) =>
    loose(cb.analytics.applyRetention.bind(cb.analytics))(a),
  ),
  // withActor: the scope's writes attribute to the (validated) actor
  call(
    'withActor',
    [
      input({
        userId: userRef,
        type: fc.constantFrom('user', 'service'),
        ip: fc.ipV4(),
        userAgent: text(),
        requestId: text(),
      }),
    ],
    async (a) => loose(cb.withActor.bind(cb))(a).audit.log({ action: 'chart.view', resourceType: 'chart' }),
  ),
];

/** Calls that deliberately write while refusing: a wrong current password is audited and counted. */
function deliberateWrite(name: string, error: unknown): boolean {
  const code = (error as { issues?: { code?: string }[] }).issues?.[0]?.code;
  return (
    name === 'users.changePassword' && (code === 'invalid_current_password' || code === 'account_locked')
  );
}

/** Replays `c` on the instance without a server: a refusal of the input itself repeats there. */
async function replayOffline(c: Call): Promise<unknown> {
  cb = offline;
  try {
    await c.run();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    cb = online;
  }
}

describe('fuzz: every public method that takes input', () => {
  it(`${RUNS} calls: success or a CarebaseError, and nothing written when refused`, async () => {
    const stats = { ok: 0, refused: 0, byCode: new Map<string, number>() };
    let counts: Record<string, number> = {};
    let dirty = true; // the seed's entries may still be sealing
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...calls), async (c) => {
        if (dirty) {
          await cb.audit.seal(); // entries written in transactions are sealed in the background
          counts = await rowCounts();
          dirty = false;
        }
        let error: unknown;
        try {
          await c.run();
        } catch (e) {
          error = e;
        }
        if (error === undefined) {
          stats.ok++;
          dirty = true;
          return;
        }
        if (!isCarebaseError(error)) {
          throw new Error(
            `${c.name} threw a raw ${String((error as Error)?.name)}: ${String((error as Error)?.message)}`,
          );
        }
        stats.refused++;
        const key =
          error.code === 'QUERY_FAILED'
            ? `QUERY_FAILED ${c.name} ${(error as { sqlState?: string }).sqlState}`
            : error.code;
        stats.byCode.set(key, (stats.byCode.get(key) ?? 0) + 1);
        if (deliberateWrite(c.name, error)) {
          dirty = true;
          return;
        }
        const after = await rowCounts();
        expect(after, `${c.name} threw ${error.code} and changed row counts`).toEqual(counts);
        if (error.code === 'VALIDATION_FAILED') {
          const replayed = await replayOffline(c);
          const field = (error as { field?: string }).field;
          expect(
            isCarebaseError(replayed, 'VALIDATION_FAILED'),
            `${c.name} refused ${field} only after SQL ran`,
          ).toBe(true);
        }
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
    );
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `fuzz: ${RUNS} calls in ${seconds.toFixed(1)} s: ${stats.ok} succeeded, ${stats.refused} refused ` +
        `(${[...stats.byCode].map(([code, n]) => `${code} ${n}`).join(', ')}), 0 raw errors, 0 partial writes\n`,
    );
    expect(stats.ok).toBeGreaterThan(RUNS * 0.05);
    expect(stats.refused).toBeGreaterThan(RUNS * 0.3);
  }, 600_000);
});
