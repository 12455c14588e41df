import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  type Carebase,
  ConnectionError,
  createCarebase,
  InvalidConfigurationError,
  isCarebaseError,
  MigrationError,
} from 'carebase';
import { carebaseMigrations, migrate } from 'carebase/migration';
import { createTestDatabase, startPostgres, type TestDatabase, type TestPostgres } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from '../cli/bin.js';
import { pgbouncerMissing, startPgBouncer, type TestPgBouncer } from '../support/pgbouncer.js';

// PgBouncer in transaction mode (as strict as a default install) in front of a throwaway cluster:
// carebase with `pooler: 'transaction'` works through it; without it, the refusal is named.
if (pgbouncerMissing !== undefined) console.warn(`pooler tests skipped: ${pgbouncerMissing}`);

const PASSWORD = 'correct horse battery staple';

describe.skipIf(pgbouncerMissing !== undefined)('through PgBouncer in transaction mode', () => {
  let server: TestPostgres;
  let database: TestDatabase;
  let bouncer: TestPgBouncer;
  let cb: Carebase;
  const opened: Carebase[] = [];

  const open = (options: Parameters<typeof createCarebase>[0] = {}): Carebase => {
    const instance = createCarebase({
      connectionString: bouncer.urlFor(database.url),
      users: { bcryptCost: 10 },
      ...options,
    });
    opened.push(instance);
    return instance;
  };

  beforeAll(async () => {
    server = await startPostgres({ provider: 'local', log: false });
    // The least-privilege app role, as production runs behind a pooler.
    database = await createTestDatabase({ serverUrl: server.url, spares: 0, role: 'app' });
    const app = new URL(database.url);
    const owner = new URL(database.ownerUrl);
    bouncer = await startPgBouncer({
      serverPort: Number(new URL(server.url).port),
      users: [
        { name: decodeURIComponent(app.username), password: decodeURIComponent(app.password) },
        { name: decodeURIComponent(owner.username), password: decodeURIComponent(owner.password) },
      ],
      // Fewer server connections than client connections: statements of one client connection
      // land on different backends, as in production.
      poolSize: 4,
    });
    cb = open({ pooler: 'transaction', pool: { max: 16 } });
  }, 120_000);

  afterAll(async () => {
    for (const instance of opened) await instance.close();
    await database?.drop();
    await bouncer?.stop();
    await server?.stop();
  }, 60_000);

  it('without pooler: transaction, names the refusal (pooler_refused_startup_parameter) and how to fix it', async () => {
    const plain = open();
    const error = await plain.users.findById(randomUUID()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('pooler_refused_startup_parameter');
    expect((error as ConnectionError).message).toContain("pooler: 'transaction'");
    expect((error as ConnectionError).hint).toContain("pooler: 'transaction'");
  });

  it('without pooler: transaction and without a timeout, names the pooler instead of a bare 42P05/26000', async () => {
    // No startup parameter to refuse: the connection opens, and named statements meet backends
    // that never prepared them (or already did).
    const plain = open({ pool: { max: 16, statementTimeoutMs: 0 } });
    const user = await cb.users.create({
      username: 'unconfigured',
      email: 'unconfigured@example.org',
      password: PASSWORD,
      role: 'nurse',
    });
    const { token } = await cb.sessions.create({ userId: user.id });
    const settled = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? plain.sessions.validate(token) : plain.chat.history({ userId: user.id }),
      ),
    );
    const failures = settled.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(InvalidConfigurationError);
      expect((failure as InvalidConfigurationError).field).toBe('pooler');
    }
  });

  /** Six users named `<prefix>0`..`<prefix>5`, each with one session. */
  async function usersWithSessions(prefix: string) {
    const users = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        cb.users.create({
          username: `${prefix}${i}`,
          email: `${prefix}${i}@example.org`,
          password: PASSWORD,
          role: 'nurse',
        }),
      ),
    );
    const sessions = await Promise.all(users.map((user) => cb.sessions.create({ userId: user.id })));
    return { users, sessions };
  }

  it('runs 300 concurrent mixed calls with 0 errors, and the audit chain verifies', async () => {
    const { users, sessions: tokens } = await usersWithSessions('load');
    const calls: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 300; i++) {
      const user = users[i % users.length] as (typeof users)[number];
      const token = tokens[i % tokens.length]?.token as string;
      const kind = i % 10;
      calls.push(
        [
          () => cb.sessions.validate(token),
          () => cb.chat.append({ userId: user.id, role: 'user', content: `message ${i}` }),
          () => cb.chat.history({ userId: user.id, limit: 20 }),
          () => cb.audit.log({ action: 'record.view', resourceType: 'record', resourceId: String(i) }),
          () => cb.analytics.track({ userId: user.id, eventType: 'ui', eventName: 'click' }),
          () => cb.users.findById(user.id),
          () =>
            cb.transaction(async (tx) => {
              await tx.chat.append({ userId: user.id, role: 'assistant', content: `answer ${i}` });
              await tx.audit.log({ action: 'chat.answer', resourceType: 'chat' });
            }),
          () => cb.chat.search({ userId: user.id, query: 'message' }),
          () =>
            cb.analytics.trackMany(
              Array.from({ length: 5 }, () => ({ userId: user.id, eventType: 'ui', eventName: 'bulk' })),
            ),
          () => cb.sessions.listForUser(user.id),
        ][kind] as () => Promise<unknown>,
      );
    }
    const settled = await Promise.allSettled(calls.map((call) => call()));
    const failures = settled.filter((result) => result.status === 'rejected');
    expect(
      failures.map((failure) => {
        const reason = (failure as PromiseRejectedResult).reason as unknown;
        return isCarebaseError(reason) ? `${reason.code}: ${reason.message}` : String(reason);
      }),
    ).toEqual([]);
    await cb.audit.seal();
    expect(await cb.audit.verify()).toMatchObject({ ok: true });
  }, 120_000);

  it('concurrent validations share statements through PgBouncer, each answered with its own session', async () => {
    const { sessions } = await usersWithSessions('val');
    const calls = Array.from(
      { length: 96 },
      (_, i) => sessions[i % sessions.length] as (typeof sessions)[number],
    );
    const answers = await Promise.all(calls.map(({ token }) => cb.sessions.validate(token)));
    expect(answers.map((answer) => answer?.session.id)).toEqual(calls.map(({ session }) => session.id));
    expect(answers.map((answer) => answer?.user.id)).toEqual(calls.map(({ session }) => session.userId));
  });

  it('the pool timeout still applies, as SET LOCAL in each transaction', async () => {
    const strict = open({ pooler: 'transaction', pool: { max: 2, statementTimeoutMs: 200 } });
    const error = await strict
      .transaction(async (tx) => {
        await sql`select pg_sleep(2)`.execute(tx.db);
      })
      .catch((caught: unknown) => caught);
    expect(isCarebaseError(error) && error.code).toBe('STATEMENT_TIMEOUT');
  });

  describe('a representative run of every repository', () => {
    it('users', async () => {
      const user = await cb.users.create({
        username: 'rep-user',
        email: 'rep-user@example.org',
        password: PASSWORD,
        role: 'nurse',
      });
      expect(await cb.users.findByEmail('REP-USER@example.org')).toMatchObject({ id: user.id });
      expect(await cb.users.authenticate({ login: 'rep-user', password: PASSWORD })).toMatchObject({
        ok: true,
      });
      await cb.users.update(user.id, { displayName: 'Rep' });
      await cb.users.setRole(user.id, 'admin');
      await cb.users.deactivate(user.id);
      await cb.users.reactivate(user.id);
      expect((await cb.users.list({ limit: 100 })).items.length).toBeGreaterThan(0);
      expect(await cb.users.exportData(user.id)).toBeDefined();
    });

    it('sessions', async () => {
      const user = await cb.users.create({
        username: 'rep-session',
        email: 'rep-session@example.org',
        password: PASSWORD,
        role: 'nurse',
      });
      const { token, session } = await cb.sessions.create({ userId: user.id });
      expect((await cb.sessions.validate(token))?.user.id).toBe(user.id);
      expect((await cb.sessions.listForUser(user.id)).items).toHaveLength(1);
      await cb.sessions.revoke(session.id);
      expect(await cb.sessions.validate(token)).toBeUndefined();
      await cb.sessions.create({ userId: user.id });
      await cb.sessions.revokeAllForUser(user.id);
      expect(await cb.sessions.purgeExpired()).toBeGreaterThanOrEqual(0);
    });

    it('chat, including a streamed export', async () => {
      const user = await cb.users.create({
        username: 'rep-chat',
        email: 'rep-chat@example.org',
        password: PASSWORD,
        role: 'nurse',
      });
      const conversation = await cb.chat.createConversation({ userId: user.id, title: 'Rounds' });
      await cb.chat.append({
        userId: user.id,
        conversationId: conversation.id,
        role: 'user',
        content: 'vitals',
      });
      await cb.chat.appendMany(
        Array.from({ length: 600 }, (_, i) => ({
          userId: user.id,
          conversationId: conversation.id,
          role: 'assistant' as const,
          content: `vitals note ${i}`,
        })),
      );
      const page = await cb.chat.history({ userId: user.id, conversationId: conversation.id, limit: 50 });
      expect(page.items).toHaveLength(50);
      expect((await cb.chat.search({ userId: user.id, query: 'vitals' })).items.length).toBeGreaterThan(0);
      const exported = await text(cb.chat.export({ userId: user.id, format: 'jsonl' }));
      expect(exported.split('\n').filter((line) => line.includes('vitals'))).toHaveLength(601);
      expect(await cb.chat.clear({ userId: user.id, conversationId: conversation.id })).toBe(601);
    });

    it('audit: log, query, seal, verify, export', async () => {
      const from = new Date(Date.now() - 60_000);
      await cb.audit.log({ action: 'rep.audit', resourceType: 'record', resourceId: 'r1' });
      expect((await cb.audit.query({ action: 'rep.audit' })).items).toHaveLength(1);
      await cb.audit.seal();
      expect(await cb.audit.verify()).toMatchObject({ ok: true });
      const csv = await text(cb.audit.export({ from, to: new Date(Date.now() + 60_000), format: 'csv' }));
      expect(csv).toContain('rep.audit');
    });

    it('analytics: track, COPY bulk, summary, timeseries, concurrent rollup refreshes', async () => {
      await cb.analytics.track({
        eventType: 'rep',
        eventName: 'one',
        occurredAt: new Date(Date.now() - 3 * 3_600_000),
      });
      expect(
        await cb.analytics.trackMany(
          Array.from({ length: 2_000 }, () => ({
            eventType: 'rep',
            eventName: 'bulk',
            occurredAt: new Date(Date.now() - 2 * 3_600_000),
          })),
        ),
      ).toMatchObject({ inserted: 2_000 });
      const range = { from: new Date(Date.now() - 86_400_000), to: new Date(Date.now() + 60_000) };
      expect((await cb.analytics.summary({ ...range, eventType: 'rep' })).totalEvents).toBe(2_001);
      expect((await cb.analytics.timeseries({ ...range, bucket: 'hour' })).length).toBeGreaterThan(0);
      // Session advisory locks would leak on a pooled backend and hang the next refresh.
      const refreshes = await Promise.all([1, 2, 3].map(() => cb.analytics.refreshRollups()));
      for (const refresh of refreshes) expect(refresh.rolledUpTo).toBeInstanceOf(Date);
      expect((await cb.analytics.refreshRollups()).hoursRefreshed).toBe(0);
    }, 60_000);

    it('chat usage: appends with usage, concurrent usage rollup refreshes, usage() equal before and after', async () => {
      const user = await cb.users.create({
        username: 'rep-usage',
        email: 'rep-usage@example.org',
        password: PASSWORD,
        role: 'nurse',
      });
      for (let i = 0; i < 20; i++) {
        await cb.chat.append({
          userId: user.id,
          role: 'assistant',
          content: `answer ${i}`,
          usage: {
            provider: 'p',
            model: 'm',
            outputTokens: i,
            cost: '0.000000000001',
            currency: 'USD',
            status: 'ok',
          },
        });
      }
      const range = { from: new Date(Date.now() - 3 * 86_400_000), to: new Date(Date.now() + 60_000) };
      const before = await cb.chat.usage({ ...range, groupBy: 'user' });
      expect(before).toMatchObject([{ key: user.id, calls: 20, outputTokens: 190, cost: '0.000000000020' }]);
      // Session advisory locks would leak on a pooled backend and hang the next refresh.
      const refreshes = await Promise.all([1, 2, 3].map(() => cb.chat.refreshUsageRollups()));
      for (const refresh of refreshes) expect(refresh.rolledUpTo).toBeInstanceOf(Date);
      expect((await cb.chat.refreshUsageRollups()).daysRefreshed).toBe(0);
      expect(await cb.chat.usage({ ...range, groupBy: 'user' })).toEqual(before);
    }, 60_000);
  });

  it.skipIf(!built)(
    'carebase doctor sees the pooler; migrate up uses DIRECT_DATABASE_URL',
    async () => {
      type Doctor = { checks: { id: string; status: string; summary: string; hint?: string }[] };
      const through = bouncer.urlFor(database.ownerUrl);
      const unconfigured = await carebase(['doctor', '--json'], {
        env: { ...baseEnv(), DATABASE_URL: through, DB_STATEMENT_TIMEOUT_MS: '0' },
      });
      const warned = (JSON.parse(unconfigured.stdout) as Doctor).checks.find(
        (check) => check.id === 'pooler',
      );
      expect(warned?.status, unconfigured.stderr).toBe('warn');
      expect(warned?.hint).toContain("pooler: 'transaction'");
      const configured = {
        ...baseEnv(),
        DATABASE_URL: through,
        DB_POOLER: 'transaction',
        DIRECT_DATABASE_URL: database.ownerUrl,
      };
      const doctor = await carebase(['doctor', '--json'], { env: configured });
      expect(
        (JSON.parse(doctor.stdout) as Doctor).checks.find((check) => check.id === 'pooler')?.status,
      ).toBe('ok');
      const up = await carebase(['migrate', 'up'], { env: configured });
      expect(up.code, up.stderr).toBe(0);
      const refused = await carebase(['migrate', 'up'], {
        env: { ...configured, DIRECT_DATABASE_URL: undefined },
      });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('directUrl');
    },
    60_000,
  );

  it('backups of an instance behind the pooler run on its directUrl, and refuse without one', async () => {
    const { createBackup } = await import('carebase/backup');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'carebase-pooler-backup-'));
    try {
      const refused = await createBackup({ carebase: cb, dir }).catch((caught: unknown) => caught);
      expect(isCarebaseError(refused) && refused.code).toBe('BACKUP_FAILED');
      expect((refused as Error).message).toContain('directUrl');
      // As the owner (pg_dump reads every table), through the pooler for the app, directly for the dump.
      const owner = open({
        connectionString: bouncer.urlFor(database.ownerUrl),
        pooler: 'transaction',
        directUrl: database.ownerUrl,
      });
      const backup = await createBackup({ carebase: owner, dir });
      expect(backup.manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  describe('migrations', () => {
    it('refuse to run through the pooler, saying to pass directUrl', async () => {
      const error = await cb.migrate().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).reason).toBe('needs_direct_connection');
      // Detected on the connection itself, too, when the pooler is not declared.
      const detected = await migrate(bouncer.urlFor(database.ownerUrl)).catch((caught: unknown) => caught);
      expect(detected).toBeInstanceOf(MigrationError);
      expect((detected as MigrationError).reason).toBe('needs_direct_connection');
    });

    it('concurrent migrate() via directUrl applies each migration once', async () => {
      // An empty database (owner: migrations need DDL), reached through the pooler for the app's
      // traffic and directly for migrations.
      await using empty = await createTestDatabase({ serverUrl: server.url, spares: 0, migrate: false });
      const runners = Array.from({ length: 4 }, () =>
        open({
          connectionString: bouncer.urlFor(empty.url),
          pooler: 'transaction',
          directUrl: empty.url,
        }),
      );
      const runs = await Promise.all(runners.map((runner) => runner.migrate()));
      const library = await carebaseMigrations.load();
      const applied = runs.flatMap((run) => run.results.map((result) => result.name));
      expect(applied.sort()).toEqual(library.map((migration) => migration.name).sort());
      const client = new pg.Client({ connectionString: empty.url });
      client.on('error', () => {});
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string; n: number }>(
          'select name, count(*)::int as n from carebase.schema_migrations group by name having count(*) > 1',
        );
        expect(rows).toEqual([]);
        // No advisory lock left behind on any backend.
        const locks = await client.query("select 1 from pg_locks where locktype = 'advisory'");
        expect(locks.rowCount).toBe(0);
      } finally {
        await client.end();
      }
      // And the app's traffic then works through the pooler.
      expect((await runners[0]?.health())?.ok).toBe(true);
    }, 120_000);
  });
});

async function text(stream: Readable | AsyncIterable<unknown>): Promise<string> {
  let out = '';
  for await (const chunk of stream as AsyncIterable<string | Buffer>) out += chunk.toString();
  return out;
}
