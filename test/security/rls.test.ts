import type { Readable } from 'node:stream';
import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgbouncerMissing } from '../support/pgbouncer.js';
import {
  actAs,
  count,
  enableRowSecurity,
  newUser,
  type RlsBehindPgBouncer,
  rawTransaction,
  startRlsBehindPgBouncer,
} from '../support/rls.js';

// Row-level security (migration 0043, `rls: true`, `grantAppRole({ rowSecurity: true })`): as the
// least-privilege app role, raw SQL sees only the rows of the user carebase set for the
// transaction, and every repository method still works for the right user.

const CHAT_TABLES = ['conversations', 'chat_messages', 'conversation_participants', 'chat_usage'] as const;

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe('row-level security as the app role', () => {
  let database: TestDatabase;
  let cb: Carebase;
  let ana: string;
  let ben: string;
  let cleo: string;
  let shared: string;
  let anaToken: string;

  beforeAll(async () => {
    database = await createTestDatabase({ role: 'app', spares: 0, carebase: { rls: true } });
    await enableRowSecurity(database);
    cb = database.db;
    ana = await newUser(cb, 'ana');
    ben = await newUser(cb, 'ben');
    cleo = await newUser(cb, 'cleo');
    const asAna = cb.withActor({ userId: ana });
    await asAna.chat.append({
      userId: ana,
      role: 'assistant',
      content: 'private note about ana',
      usage: { provider: 'openai', model: 'gpt-x', inputTokens: 3, outputTokens: 5, status: 'ok' },
    });
    const conversation = await asAna.chat.createConversation({ userId: ana, title: 'shared with ben' });
    shared = conversation.id;
    await asAna.chat.append({ userId: ana, conversationId: shared, role: 'user', content: 'shared words' });
    await asAna.chat.addParticipant({
      userId: ana,
      conversationId: shared,
      participantId: ben,
      role: 'member',
    });
    anaToken = (await cb.sessions.create({ userId: ana })).token;
  }, 60_000);

  afterAll(() => database?.drop());

  it('shows raw SQL without carebase.actor_user_id no chat, session rows (the owner sees them)', async () => {
    await rawTransaction(database.ownerUrl, async (owner) => {
      for (const table of CHAT_TABLES) expect(await count(owner, table), table).toBeGreaterThan(0);
      expect(await count(owner, 'sessions')).toBeGreaterThan(0);
    });
    await rawTransaction(database.url, async (app) => {
      for (const table of CHAT_TABLES) expect(await count(app, table), table).toBe(0);
      expect(await count(app, 'sessions')).toBe(0);
    });
  });

  it("shows raw SQL under another user's id none of this user's rows, only what is shared", async () => {
    await rawTransaction(database.url, async (app) => {
      await actAs(app, cleo);
      for (const table of CHAT_TABLES) expect(await count(app, table), table).toBe(0);
      expect(await count(app, 'sessions')).toBe(0);
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, ben);
      // Ben participates in the shared conversation only: not Ana's default one, not her sessions.
      expect(await count(app, 'chat_messages', 'user_id = $1', [ana])).toBe(1);
      expect(await count(app, 'chat_messages', 'conversation_id <> $1', [shared])).toBe(0);
      expect(await count(app, 'conversations')).toBe(1);
      expect(await count(app, 'chat_usage')).toBe(0);
      expect(await count(app, 'sessions')).toBe(0);
    });
    await rawTransaction(database.url, async (app) => {
      await actAs(app, ana);
      expect(await count(app, 'chat_messages')).toBe(2);
      expect(await count(app, 'chat_usage')).toBe(1);
      expect(await count(app, 'sessions')).toBe(1);
    });
  });

  it("refuses raw writes of another user's rows (42501)", async () => {
    await rawTransaction(database.url, async (app) => {
      await actAs(app, cleo);
      const insert = app.query(`insert into carebase.conversations (user_id, title) values ($1, 'planted')`, [
        ana,
      ]);
      await expect(insert).rejects.toMatchObject({ code: '42501' });
    });
    await rawTransaction(database.url, async (app) => {
      const updated = await app.query(`update carebase.chat_messages set content = 'x'`);
      expect(updated.rowCount).toBe(0);
    });
  });

  it('keeps the setting transaction-local: the next transaction on the pool has none', async () => {
    await cb.withActor({ userId: ana }).chat.history({ userId: ana, limit: 5 });
    const settings = await Promise.all(
      Array.from({ length: 6 }, () =>
        cb.transaction(async (tx) => {
          const { rows } = await sql<{
            value: string | null;
          }>`select current_setting('carebase.actor_user_id', true) as value`.execute(tx.db);
          return rows[0]?.value ?? '';
        }),
      ),
    );
    expect(settings.every((value) => value === '')).toBe(true);
  });

  it('runs every chat method for the right user (a tour as Ana and Ben)', async () => {
    const asAna = cb.withActor({ userId: ana });
    const asBen = cb.withActor({ userId: ben });
    const conversation = await asAna.chat.createConversation({ userId: ana, title: 'tour' });
    const conversationId = conversation.id;
    expect((await asAna.chat.getConversation({ userId: ana, conversationId })).title).toBe('tour');
    await asAna.chat.renameConversation({ userId: ana, conversationId, title: 'tour 2' });
    await asAna.chat.updateConversation(conversationId, { userId: ana, status: 'open' });
    await asAna.chat.append({ userId: ana, conversationId, role: 'user', content: 'blood pressure reading' });
    await asAna.chat.appendMany([
      { userId: ana, conversationId, role: 'assistant', content: 'noted the reading' },
      { userId: ana, conversationId, role: 'user', content: 'thanks' },
    ]);
    expect((await asAna.chat.history({ userId: ana, conversationId, limit: 10 })).items).toHaveLength(3);
    expect(await asAna.chat.latest({ userId: ana, conversationId, n: 2 })).toHaveLength(2);
    expect((await asAna.chat.search({ userId: ana, query: 'pressure' })).items).toHaveLength(1);
    expect((await asAna.chat.listConversations({ userId: ana })).items.length).toBeGreaterThanOrEqual(3);
    const usage = await asAna.chat.usage({
      userId: ana,
      from: new Date(Date.now() - 86_400_000),
      to: new Date(Date.now() + 86_400_000),
      groupBy: 'model',
    });
    expect(usage).toHaveLength(1);
    // Sharing: Ben reads and writes the shared conversation, not Ana's others.
    expect((await asAna.chat.listParticipants({ userId: ana, conversationId: shared })).length).toBe(2);
    expect((await asBen.chat.history({ userId: ben, conversationId: shared, limit: 10 })).items).toHaveLength(
      1,
    );
    await asBen.chat.append({ userId: ben, conversationId: shared, role: 'user', content: 'ben replies' });
    await expect(asBen.chat.history({ userId: ben, conversationId, limit: 10 })).rejects.toThrow();
    await asAna.chat.addParticipant({ userId: ana, conversationId, participantId: cleo, role: 'viewer' });
    expect(await asAna.chat.removeParticipant({ userId: ana, conversationId, participantId: cleo })).toBe(
      true,
    );
    const exported = await text(asAna.chat.export({ userId: ana, conversationId, format: 'jsonl' }));
    expect(exported).toContain('blood pressure reading');
    expect(await text(asBen.chat.export({ userId: ben, format: 'jsonl' }))).not.toContain('blood pressure');
    expect(await asAna.chat.clear({ userId: ana, conversationId })).toBe(3);
    await asAna.chat.deleteConversation({ userId: ana, conversationId });
    // Inside a host transaction on the scope, raw SQL sees the scope's user's rows.
    const inTransaction = await asAna.transaction(async (tx) => {
      await tx.chat.append({
        userId: ana,
        conversationId: shared,
        role: 'user',
        content: 'in a transaction',
      });
      return (await tx.chat.history({ userId: ana, conversationId: shared, limit: 10 })).items.length;
    });
    expect(inTransaction).toBe(3);
    // System path: retention across users, through the owner's function.
    await asAna.chat.append({ userId: ana, role: 'user', content: 'an old message' });
    await rawTransaction(database.ownerUrl, async (owner) => {
      await owner.query(
        "update carebase.chat_messages set created_at = now() - interval '10 days' where content = 'an old message'",
      );
      await owner.query('commit');
    });
    expect(await cb.chat.applyRetention({ olderThanDays: 1 })).toBe(1);
  });

  it('runs the sessions paths: validate by token, list, revoke, purge', async () => {
    const found = await cb.sessions.validate(anaToken);
    expect(found?.session.userId).toBe(ana);
    expect((await cb.sessions.listForUser(ana)).items).toHaveLength(1);
    const { token } = await cb.sessions.create({ userId: ben });
    expect(await cb.sessions.revoke(token)).toBe(true);
    expect(await cb.sessions.validate(token)).toBeUndefined();
    expect(await cb.sessions.revokeAllForUser(ben)).toBe(0);
    expect(await cb.sessions.purgeExpired({ olderThan: new Date(Date.now() + 1000) })).toBe(1);
    expect(await cb.sessions.validate(anaToken)).toBeDefined();
  });

  it('exports and erases a user for an admin actor (the subject is acted for)', async () => {
    const admin = cb.withActor({ userId: cleo });
    const exported = await admin.users.exportData(ana);
    expect(JSON.stringify(exported)).toContain('private note about ana');
    await admin.users.erase(ben);
    await rawTransaction(database.ownerUrl, async (owner) => {
      expect(await count(owner, 'conversation_participants', 'user_id = $1', [ben])).toBe(0);
    });
  });
});

describe.skipIf(pgbouncerMissing !== undefined)(
  'row-level security behind PgBouncer (transaction mode)',
  () => {
    let setup: RlsBehindPgBouncer;
    let database: TestDatabase;
    let cb: Carebase;

    beforeAll(async () => {
      setup = await startRlsBehindPgBouncer();
      ({ database } = setup);
      cb = createCarebase({
        connectionString: setup.url,
        pooler: 'transaction',
        rls: true,
        pool: { max: 8 },
      });
    }, 120_000);

    afterAll(async () => {
      await cb?.close();
      await setup?.stop();
    });

    it('serves each user their rows and leaves no setting on the shared server connections', async () => {
      const users = await Promise.all(Array.from({ length: 4 }, (_, i) => newUser(database.db, `p${i}`)));
      await Promise.all(
        users.map((userId) =>
          cb.withActor({ userId }).chat.append({ userId, role: 'user', content: `hello ${userId}` }),
        ),
      );
      const histories = await Promise.all(
        users.flatMap((userId) =>
          Array.from({ length: 5 }, () => cb.withActor({ userId }).chat.history({ userId, limit: 10 })),
        ),
      );
      for (const [index, page] of histories.entries()) {
        const userId = users[Math.floor(index / 5)];
        expect(page.items.map((message) => message.content)).toEqual([`hello ${userId}`]);
      }
      const { token } = await cb.sessions.create({ userId: users[0] as string });
      expect((await cb.sessions.validate(token))?.session.userId).toBe(users[0]);
      // Raw SQL through the same pooler, after all that: no user, so no rows.
      await rawTransaction(setup.url, async (app) => {
        const { rows } = await app.query<{ value: string | null }>(
          "select current_setting('carebase.actor_user_id', true) as value",
        );
        expect(rows[0]?.value ?? '').toBe('');
        expect(await count(app, 'chat_messages')).toBe(0);
      });
    });
  },
);
