import { createHash } from 'node:crypto';
import type { ImportReport } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carebaseOn } from '../support/users.js';

// Runs as the app role (createTestDatabase's default): staging tables, past audit partitions and
// the import keys must all work without DDL privileges.
let database: TestDatabase;
let env: ReturnType<typeof carebaseOn>;

beforeAll(async () => {
  database = await createTestDatabase();
  env = carebaseOn(database, { chat: { maxMessageBytes: 200_000 } });
});

afterAll(async () => {
  await env?.cb.close();
  await database?.drop();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function addsUp(report: ImportReport): void {
  expect(report.read).toBe(
    report.inserted + report.alreadyPresent + report.refused.length + report.pastRetention,
  );
}

describe('cb.imports', () => {
  it('imports users with hashes and times, refuses case collisions and bad rows with paths, and a rerun inserts nothing', async () => {
    const users = [
      {
        externalId: 'u-alice',
        username: 'alice',
        email: 'alice@example.org',
        role: 'nurse',
        createdAt: '2021-03-04T05:06:07.123Z',
      },
      { externalId: 'u-alice2', username: 'Alice', email: 'alice2@example.org', role: 'nurse' },
      {
        externalId: 'u-bob',
        username: 'bob',
        email: 'bob@example.org',
        role: 'nurse',
        passwordHash: { algorithm: 'sha256', hash: sha256('bobs pw') },
      },
      { externalId: 'u-bad', username: 'carol', email: 'not-an-email', role: 'nurse' },
      { externalId: 'u-bob', username: 'bob2', email: 'bob2@example.org', role: 'nurse' },
      { externalId: 'u-role', username: 'dave', email: 'dave@example.org', role: 'wizard' },
    ] as const;
    const first = await env.cb.imports.users({ source: 'mongo', users: [...users] });
    addsUp(first);
    expect(first).toMatchObject({ entity: 'users', read: 6, inserted: 2, alreadyPresent: 0 });
    expect(first.refused.map((r) => [r.path, r.externalId])).toEqual([
      ['users[3].email', 'u-bad'],
      ['users[4].externalId', 'u-bob'],
      ['users[5].role', 'u-role'],
      ['users[1].username', 'u-alice2'],
    ]);
    expect(JSON.stringify(first.refused)).not.toContain('not-an-email');
    const alice = await env.cb.users.findByUsername('alice');
    expect(alice?.createdAt.toISOString()).toBe('2021-03-04T05:06:07.123Z');
    const login = await env.cb.users.authenticate({ login: 'bob', password: 'bobs pw' });
    expect(login.ok).toBe(true);
    const again = await env.cb.imports.users({ source: 'mongo', users: [...users] });
    addsUp(again);
    expect(again).toMatchObject({ read: 6, inserted: 0, alreadyPresent: 2 });
    expect(again.refused).toHaveLength(4);
  });

  it('imports conversations and 20,000 messages keeping times, order and authors; refuses what it cannot store; a rerun inserts nothing', async () => {
    const conversations = await env.cb.imports.conversations({
      source: 'mongo',
      conversations: [
        {
          externalId: 'c-1',
          userExternalId: 'u-alice',
          title: 'Night shift',
          createdAt: '2022-01-01T00:00:00Z',
        },
        { externalId: 'c-2', userExternalId: 'u-bob' },
        { externalId: 'c-x', userExternalId: 'u-nobody' },
      ],
    });
    addsUp(conversations);
    expect(conversations).toMatchObject({
      inserted: 2,
      refused: [{ path: 'conversations[2].userExternalId', reason: 'no such user' }],
    });
    const base = Date.parse('2022-01-01T00:00:00Z');
    const messages = Array.from({ length: 20_000 }, (_, i) => ({
      externalId: `m-${i}`,
      conversationExternalId: i % 2 === 0 ? 'c-1' : 'c-2',
      role: i % 4 < 2 ? ('user' as const) : ('assistant' as const),
      content: i === 7 ? 'é'.repeat(80_000) : `message ${i} about insulin ✓`,
      // Pairs share a timestamp: order within equal times must follow the call.
      createdAt: new Date(base + Math.floor(i / 4) * 1000),
    }));
    const refusedRows = [
      {
        externalId: 'bad-nul',
        conversationExternalId: 'c-1',
        role: 'user',
        content: 'a\u0000b',
        createdAt: new Date(base),
      },
      {
        externalId: 'bad-big',
        conversationExternalId: 'c-1',
        role: 'user',
        content: 'x'.repeat(200_001),
        createdAt: new Date(base),
      },
      {
        externalId: 'bad-conv',
        conversationExternalId: 'c-none',
        role: 'user',
        content: 'lost',
        createdAt: new Date(base),
      },
      {
        externalId: 'bad-time',
        conversationExternalId: 'c-1',
        role: 'user',
        content: 'x',
        createdAt: 'yesterday',
      },
    ] as const;
    const started = performance.now();
    const report = await env.cb.imports.messages({
      source: 'mongo',
      messages: [...messages, ...refusedRows],
    });
    const elapsed = performance.now() - started;
    console.info(`imported 20,000 messages in ${elapsed.toFixed(0)} ms`);
    addsUp(report);
    expect(report).toMatchObject({ read: 20_004, inserted: 20_000, alreadyPresent: 0 });
    expect(report.refused.map((r) => [r.path, r.reason.length > 0])).toEqual([
      ['messages[20000].content', true],
      ['messages[20001].content', true],
      ['messages[20003].createdAt', true],
      ['messages[20002].conversationExternalId', true],
    ]);
    const alice = await env.cb.users.findByUsername('alice');
    const conversation = await env.cb.db
      .selectFrom('conversations')
      .select(['id', 'last_message_at', 'created_at'])
      .where('external_id', '=', 'c-1')
      .executeTakeFirstOrThrow();
    expect(conversation.created_at.toISOString()).toBe('2022-01-01T00:00:00.000Z');
    expect(conversation.last_message_at.toISOString()).toBe(new Date(base + 4999 * 1000).toISOString());
    const stored: { content: string; createdAt: Date; role: string }[] = [];
    let page = await env.cb.chat.history({
      userId: alice?.id ?? '',
      conversationId: conversation.id,
      limit: 500,
    });
    stored.push(...page.items);
    while (page.nextCursor !== undefined) {
      page = await env.cb.chat.history({
        userId: alice?.id ?? '',
        conversationId: conversation.id,
        limit: 500,
        cursor: page.nextCursor,
      });
      stored.push(...page.items);
    }
    const expected = messages.filter((m) => m.conversationExternalId === 'c-1');
    expect(stored).toHaveLength(expected.length);
    const digest = (list: readonly { content: string; createdAt: Date; role: string }[]) =>
      createHash('sha256')
        .update(
          list.map((m) => `${m.role}\u0000${m.createdAt.toISOString()}\u0000${m.content}`).join('\u0001'),
        )
        .digest('hex');
    expect(digest(stored)).toBe(digest(expected));

    const rerun = await env.cb.imports.messages({ source: 'mongo', messages: [...messages, ...refusedRows] });
    addsUp(rerun);
    expect(rerun).toMatchObject({ inserted: 0, alreadyPresent: 20_000 });
    const { count } = await env.cb.db
      .selectFrom('chat_messages')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('import_source', '=', 'mongo')
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(20_000);
  });

  it('imports audit entries with their times and actors, counts those past retention, seals them, and a rerun inserts nothing', async () => {
    const now = env.clock.now().getTime();
    const day = 86_400_000;
    const entries = [
      {
        externalId: 'log-1',
        occurredAt: new Date(now - 400 * day),
        action: 'user.login',
        resourceType: 'user',
        userExternalId: 'u-alice',
        ip: '10.0.0.1',
        changes: { password: 'hunter2' },
      },
      {
        externalId: 'log-2',
        occurredAt: new Date(now - 3 * day),
        action: 'chart.view',
        resourceType: 'chart',
        resourceId: '42',
        userExternalId: 'u-bob',
      },
      {
        externalId: 'log-old',
        occurredAt: new Date(now - 9 * 365 * day),
        action: 'user.login',
        resourceType: 'user',
      },
      {
        externalId: 'log-ghost',
        occurredAt: new Date(now - day),
        action: 'user.login',
        resourceType: 'user',
        userExternalId: 'u-ghost',
      },
      {
        externalId: 'log-future',
        occurredAt: new Date(now + 3 * day),
        action: 'user.login',
        resourceType: 'user',
      },
    ];
    const report = await env.cb.imports.auditEntries({ source: 'mongo', entries });
    addsUp(report);
    expect(report).toMatchObject({ read: 5, inserted: 2, alreadyPresent: 0, pastRetention: 1 });
    expect(report.refused.map((r) => r.path).sort()).toEqual([
      'entries[3].userExternalId',
      'entries[4].occurredAt',
    ]);
    const imported = await env.cb.audit.query({
      resourceType: 'user',
      action: 'user.login',
      from: new Date(now - 401 * day),
      to: new Date(now - 399 * day),
    });
    expect(imported.items).toHaveLength(1);
    const alice = await env.cb.users.findByUsername('alice');
    expect(imported.items[0]).toMatchObject({
      actorUserId: alice?.id,
      ip: '10.0.0.1',
      changes: { password: '[redacted]' },
    });
    expect(imported.items[0]?.metadata).toEqual({ carebaseImport: { source: 'mongo', externalId: 'log-1' } });
    expect(imported.items[0]?.occurredAt.getTime()).toBe(now - 400 * day);
    expect((await env.cb.audit.verify()).ok).toBe(true);
    const rerun = await env.cb.imports.auditEntries({ source: 'mongo', entries });
    addsUp(rerun);
    expect(rerun).toMatchObject({ inserted: 0, alreadyPresent: 2, pastRetention: 1 });
  });

  it('moves a long call in ranges of one transaction: refusals name their rows, order holds, and no reader sees part of it', async () => {
    // 12,000 rows go in seven ranges (500, then 2,000 each): the refused rows sit in different ranges.
    await env.cb.imports.users({
      source: 'ranges',
      users: [
        { externalId: 'ru-1', username: 'ranges_one', email: 'ranges1@example.org', role: 'nurse' },
        { externalId: 'ru-2', username: 'ranges_two', email: 'ranges2@example.org', role: 'nurse' },
      ],
    });
    await env.cb.imports.conversations({
      source: 'ranges',
      conversations: [
        { externalId: 'r-1', userExternalId: 'ru-1' },
        { externalId: 'r-2', userExternalId: 'ru-2' },
      ],
    });
    const base = Date.parse('2023-06-01T00:00:00Z');
    const messages = Array.from({ length: 12_000 }, (_, i) => ({
      externalId: i === 7000 ? 'x-10' : `x-${i}`,
      conversationExternalId: i === 3001 || i === 11_999 ? 'r-none' : i % 3 === 0 ? 'r-1' : 'r-2',
      role: 'user' as const,
      content: i === 5000 ? 'nul \u0000 here' : `range message ${i}`,
      // Runs of ten share a timestamp: the order within them is the call's, across range ends too.
      createdAt: new Date(base + Math.floor(i / 10) * 1000),
    }));
    // A reader on its own connection polls the count while the import runs.
    const counts: number[] = [];
    let importing = true;
    const reader = (async () => {
      for (let polls = 0; importing && polls < 2000; polls++) {
        const row = await env.cb.db
          .selectFrom('chat_messages')
          .select((eb) => eb.fn.countAll<string>().as('count'))
          .where('import_source', '=', 'ranges')
          .executeTakeFirstOrThrow();
        counts.push(Number(row.count));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const report = await env.cb.imports.messages({ source: 'ranges', messages }).finally(() => {
      importing = false;
    });
    await reader;
    addsUp(report);
    expect(report).toMatchObject({ read: 12_000, inserted: 11_996, alreadyPresent: 0 });
    expect(report.refused.map((r) => [r.path, r.externalId])).toEqual([
      ['messages[5000].content', 'x-5000'],
      ['messages[7000].externalId', 'x-10'],
      ['messages[3001].conversationExternalId', 'x-3001'],
      ['messages[11999].conversationExternalId', 'x-11999'],
    ]);
    expect(counts.length).toBeGreaterThan(1);
    expect(counts.filter((count) => count !== 0 && count !== 11_996)).toEqual([]);
    // Ids follow the call's order (which history uses within equal times).
    const stored = await env.cb.db
      .selectFrom('chat_messages')
      .select('external_id')
      .where('import_source', '=', 'ranges')
      .orderBy('id')
      .execute();
    const kept = messages.filter((_, i) => ![3001, 5000, 7000, 11_999].includes(i)).map((m) => m.externalId);
    expect(stored.map((m) => m.external_id)).toEqual(kept);
  });

  it('joins the caller transaction: a failure after the import leaves nothing behind', async () => {
    const before = await env.cb.db
      .selectFrom('conversations')
      .select('id')
      .where('external_id', '=', 'c-tx')
      .execute();
    expect(before).toHaveLength(0);
    await expect(
      env.cb.transaction(async (tx) => {
        await tx.imports.conversations({
          source: 'mongo',
          conversations: [{ externalId: 'c-tx', userExternalId: 'u-alice' }],
        });
        await tx.imports.messages({
          source: 'mongo',
          messages: [
            {
              externalId: 'm-tx',
              conversationExternalId: 'c-tx',
              role: 'user',
              content: 'in tx',
              createdAt: new Date(),
            },
          ],
        });
        throw new Error('host failure');
      }),
    ).rejects.toThrow('host failure');
    const after = await env.cb.db
      .selectFrom('chat_messages')
      .select('id')
      .where('external_id', '=', 'm-tx')
      .execute();
    expect(after).toHaveLength(0);
  });

  it('refuses a malformed call with a ValidationError before any SQL', async () => {
    await expect(env.cb.imports.messages({ source: '', messages: [] })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'source',
    });
    await expect(env.cb.imports.users({ source: 'x', users: 'nope' as unknown as [] })).rejects.toMatchObject(
      { code: 'VALIDATION_FAILED', field: 'users' },
    );
  });
});
