import { randomBytes } from 'node:crypto';
import { type ChatMessage, ForbiddenError, localKeyring, NotFoundError, ValidationError } from 'carebase';
import { createTestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * Message trees: edit and regenerate write siblings, the active leaf chooses the branch, `path`
 * reads one branch root → leaf in pages, `siblings` gives the `< 2/3 >` arrows. Runs as the app
 * role.
 */
let f: ChatFixture;
let owner: string;
let member: string;
let viewer: string;
let stranger: string;

beforeAll(async () => {
  f = await chatFixture();
  [owner, member, viewer, stranger] = [await f.user(), await f.user(), await f.user(), await f.user()];
});

afterAll(async () => {
  await f?.close();
});

async function conversation(): Promise<string> {
  const { id } = await f.cb.chat.createConversation({ userId: owner });
  await f.cb.chat.addParticipant({
    userId: owner,
    conversationId: id,
    participantId: member,
    role: 'member',
  });
  await f.cb.chat.addParticipant({
    userId: owner,
    conversationId: id,
    participantId: viewer,
    role: 'viewer',
  });
  return id;
}

async function say(
  conversationId: string,
  role: 'user' | 'assistant',
  content: string,
): Promise<ChatMessage> {
  return f.cb.chat.append({ userId: owner, conversationId, role, content });
}

/** The contents of the whole path (every page), root → leaf. */
async function pathOf(conversationId: string, leafId?: string, limit = 50): Promise<string[]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await f.cb.chat.path({ userId: viewer, conversationId, leafId, limit, cursor });
    pages.unshift(page.items.map((m) => m.content));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages.flat();
}

async function messageCount(): Promise<number> {
  const row = await f.cb.db
    .selectFrom('chat_messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('a linear conversation', () => {
  it('is a path: path equals history, plain appends name no parent, each message is its only sibling', async () => {
    const id = await conversation();
    for (const content of ['q1', 'a1', 'q2', 'a2', 'q3']) {
      const m = await say(id, content.startsWith('q') ? 'user' : 'assistant', content);
      expect(m.parentId).toBeNull();
    }
    const history = (await f.cb.chat.history({ userId: owner, conversationId: id })).items.map(
      (m) => m.content,
    );
    expect(await pathOf(id)).toEqual(history);
    expect(await pathOf(id, undefined, 2)).toEqual(history);
    const [, second] = (await f.cb.chat.history({ userId: owner, conversationId: id })).items;
    const siblings = await f.cb.chat.siblings({ userId: viewer, messageId: (second as ChatMessage).id });
    expect({ items: siblings.items.map((m) => m.content), index: siblings.index }).toEqual({
      items: ['a1'],
      index: 0,
    });
  });

  it('an empty conversation has an empty path', async () => {
    const id = await conversation();
    expect(await f.cb.chat.path({ userId: owner, conversationId: id })).toEqual({
      items: [],
      nextCursor: undefined,
    });
  });
});

describe('edit and regenerate', () => {
  it('make siblings; paths follow the active leaf exactly', async () => {
    const id = await conversation();
    const q1 = await say(id, 'user', 'q1');
    const a1 = await say(id, 'assistant', 'a1');
    const q2 = await say(id, 'user', 'q2');
    const a2 = await say(id, 'assistant', 'a2');

    const q2b = await f.cb.chat.edit({ userId: member, messageId: q2.id, content: 'q2 edited' });
    expect({ parentId: q2b.parentId, role: q2b.role, author: q2b.authorUserId }).toEqual({
      parentId: a1.id,
      role: 'user',
      author: member,
    });
    expect(await pathOf(id)).toEqual(['q1', 'a1', 'q2 edited']);

    const a2b = await say(id, 'assistant', 'a2 for the edit');
    expect(await pathOf(id)).toEqual(['q1', 'a1', 'q2 edited', 'a2 for the edit']);

    const a2c = await f.cb.chat.regenerate({ userId: owner, messageId: a2b.id, content: 'a2 regenerated' });
    expect(a2c.parentId).toBe(q2b.id);
    expect(a2c.role).toBe('assistant');
    expect(await pathOf(id)).toEqual(['q1', 'a1', 'q2 edited', 'a2 regenerated']);
    // Any leaf's branch, whatever the active one.
    expect(await pathOf(id, a2b.id)).toEqual(['q1', 'a1', 'q2 edited', 'a2 for the edit']);
    expect(await pathOf(id, a2.id)).toEqual(['q1', 'a1', 'q2', 'a2']);

    const arrows = async (messageId: string) => {
      const s = await f.cb.chat.siblings({ userId: viewer, messageId });
      return `${s.items.map((m) => m.content).join('|')} @${s.index}`;
    };
    expect(await arrows(q2.id)).toBe('q2|q2 edited @0');
    expect(await arrows(q2b.id)).toBe('q2|q2 edited @1');
    expect(await arrows(a2c.id)).toBe('a2 for the edit|a2 regenerated @1');
    expect(await arrows(a2.id)).toBe('a2 @0');
    expect(await arrows(q1.id)).toBe('q1 @0');

    // Back to the first branch: the next append continues it, and stays the active leaf.
    await f.cb.chat.setActiveLeaf({ userId: member, conversationId: id, messageId: a2.id });
    expect(await pathOf(id)).toEqual(['q1', 'a1', 'q2', 'a2']);
    const q3 = await say(id, 'user', 'q3');
    expect(q3.parentId).toBe(a2.id);
    await say(id, 'assistant', 'a3');
    expect(await pathOf(id)).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3']);
    expect(await arrows(q3.id)).toBe('q3 @0');

    // appendMany continues the active branch too.
    await f.cb.chat.setActiveLeaf({ userId: owner, conversationId: id, messageId: a2c.id });
    await f.cb.chat.appendMany([
      { userId: owner, conversationId: id, role: 'user', content: 'q3 batch' },
      { userId: owner, conversationId: id, role: 'assistant', content: 'a3 batch' },
    ]);
    expect(await pathOf(id)).toEqual(['q1', 'a1', 'q2 edited', 'a2 regenerated', 'q3 batch', 'a3 batch']);

    // Editing the first message makes a second root.
    const q1b = await f.cb.chat.edit({
      userId: owner,
      conversationId: id,
      messageId: q1.id,
      content: 'q1 edited',
    });
    expect(q1b.parentId).toBeNull();
    expect(await pathOf(id)).toEqual(['q1 edited']);
    expect(await arrows(q1.id)).toBe('q1|q1 edited @0');
    expect(await arrows(q1b.id)).toBe('q1|q1 edited @1');
    await say(id, 'assistant', 'a1 for the edited q1');
    expect(await pathOf(id)).toEqual(['q1 edited', 'a1 for the edited q1']);

    // history keeps its meaning: every message of every branch, by time.
    const history = (await f.cb.chat.history({ userId: owner, conversationId: id })).items.map(
      (m) => m.content,
    );
    expect(history).toEqual([
      'q1',
      'a1',
      'q2',
      'a2',
      'q2 edited',
      'a2 for the edit',
      'a2 regenerated',
      'q3',
      'a3',
      'q3 batch',
      'a3 batch',
      'q1 edited',
      'a1 for the edited q1',
    ]);
  });

  it('appends without a conversationId continue the default conversation’s chosen leaf', async () => {
    const user = await f.user();
    const q1 = await f.cb.chat.append({ userId: user, role: 'user', content: 'q1' });
    await f.cb.chat.append({ userId: user, role: 'assistant', content: 'a1' });
    const conversationId = q1.conversationId;
    await f.cb.chat.setActiveLeaf({ userId: user, conversationId, messageId: q1.id });
    // The first append after the choice, then the next ones (this instance now knows the leaf is chosen).
    const a1b = await f.cb.chat.append({ userId: user, role: 'assistant', content: 'a1 again' });
    expect(a1b.parentId).toBe(q1.id);
    const q2 = await f.cb.chat.append({ userId: user, role: 'user', content: 'q2' });
    expect(q2.parentId).toBe(a1b.id);
    const path = await f.cb.chat.path({ userId: user, conversationId });
    expect(path.items.map((m) => m.content)).toEqual(['q1', 'a1 again', 'q2']);
  });

  it('an explicit parentId starts a branch under any message of the conversation', async () => {
    const id = await conversation();
    const q1 = await say(id, 'user', 'q1');
    await say(id, 'assistant', 'a1');
    const alt = await f.cb.chat.append({
      userId: member,
      conversationId: id,
      role: 'assistant',
      content: 'a1 by hand',
      parentId: q1.id,
    });
    expect(alt.parentId).toBe(q1.id);
    expect(await pathOf(id)).toEqual(['q1', 'a1 by hand']);
  });

  it('pages of a long branch: newest first, the cursor leads to older messages, every message once', async () => {
    const id = await conversation();
    const first: ChatMessage[] = [];
    for (let i = 0; i < 7; i++) first.push(await say(id, i % 2 === 0 ? 'user' : 'assistant', `m${i}`));
    await f.cb.chat.edit({ userId: owner, messageId: (first[3] as ChatMessage).id, content: 'm3 edited' });
    for (let i = 4; i < 9; i++) await say(id, i % 2 === 0 ? 'user' : 'assistant', `n${i}`);
    const expected = ['m0', 'm1', 'm2', 'm3 edited', 'n4', 'n5', 'n6', 'n7', 'n8'];
    const p1 = await f.cb.chat.path({ userId: owner, conversationId: id, limit: 4 });
    expect(p1.items.map((m) => m.content)).toEqual(['n5', 'n6', 'n7', 'n8']);
    const p2 = await f.cb.chat.path({ userId: owner, conversationId: id, limit: 4, cursor: p1.nextCursor });
    expect(p2.items.map((m) => m.content)).toEqual(['m1', 'm2', 'm3 edited', 'n4']);
    const p3 = await f.cb.chat.path({ userId: owner, conversationId: id, limit: 4, cursor: p2.nextCursor });
    expect({ items: p3.items.map((m) => m.content), next: p3.nextCursor }).toEqual({
      items: ['m0'],
      next: undefined,
    });
    for (const limit of [1, 2, 3, 9, 10]) expect(await pathOf(id, undefined, limit)).toEqual(expected);
  });

  it('continues through messages written before trees (parent_id NULL everywhere)', async () => {
    const id = await conversation();
    // As the pre-0039 rows are: no parent, not a root; same timestamp, so id order decides.
    await f.cb.db
      .insertInto('chat_messages')
      .values(
        ['old q', 'old a', 'old q2'].map((content, i) => ({
          user_id: owner,
          conversation_id: id,
          role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content,
          created_at: new Date('2020-01-01T00:00:00Z'),
        })),
      )
      .execute();
    expect(await pathOf(id)).toEqual(['old q', 'old a', 'old q2']);
    const items = (await f.cb.chat.history({ userId: owner, conversationId: id })).items;
    const edited = await f.cb.chat.edit({
      userId: owner,
      messageId: (items[2] as ChatMessage).id,
      content: 'new q2',
    });
    expect(edited.parentId).toBe((items[1] as ChatMessage).id);
    await say(id, 'assistant', 'new a2');
    expect(await pathOf(id)).toEqual(['old q', 'old a', 'new q2', 'new a2']);
    expect(await pathOf(id, (items[2] as ChatMessage).id)).toEqual(['old q', 'old a', 'old q2']);
    const siblings = await f.cb.chat.siblings({ userId: owner, messageId: edited.id, conversationId: id });
    expect(siblings.items.map((m) => m.content)).toEqual(['old q2', 'new q2']);
  });
});

describe('bad input: typed errors before any write', () => {
  let id: string;
  let other: string;
  let question: ChatMessage;
  let answer: ChatMessage;
  let foreign: ChatMessage;

  beforeAll(async () => {
    id = await conversation();
    other = await conversation();
    question = await say(id, 'user', 'q');
    answer = await say(id, 'assistant', 'a');
    foreign = await say(other, 'user', 'elsewhere');
  });

  async function unchanged(
    run: () => Promise<unknown>,
    type: new (...args: never[]) => Error,
    field?: string,
  ) {
    const before = await messageCount();
    const leaf = await f.cb.db
      .selectFrom('conversations')
      .select('active_leaf_id')
      .where('id', '=', id)
      .executeTakeFirst();
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(type);
    if (field !== undefined)
      expect((error as ValidationError).issues.map((i) => i.path.join('.'))).toContain(field);
    expect(await messageCount()).toBe(before);
    const after = await f.cb.db
      .selectFrom('conversations')
      .select('active_leaf_id')
      .where('id', '=', id)
      .executeTakeFirst();
    expect(after).toEqual(leaf);
  }

  it('a parentId from another conversation, or of no message', async () => {
    await unchanged(
      () =>
        f.cb.chat.append({
          userId: owner,
          conversationId: id,
          role: 'user',
          content: 'x',
          parentId: foreign.id,
        }),
      ValidationError,
      'parentId',
    );
    await unchanged(
      () =>
        f.cb.chat.append({
          userId: owner,
          conversationId: id,
          role: 'user',
          content: 'x',
          parentId: '999999999',
        }),
      ValidationError,
      'parentId',
    );
    await unchanged(
      () => f.cb.chat.append({ userId: owner, role: 'user', content: 'x', parentId: question.id }),
      ValidationError,
      'parentId',
    );
    await unchanged(
      () =>
        f.cb.chat.append({ userId: owner, conversationId: id, role: 'user', content: 'x', parentId: '01' }),
      ValidationError,
      'parentId',
    );
    await unchanged(
      () =>
        f.cb.chat.appendMany([
          { userId: owner, conversationId: id, role: 'user', content: 'x', parentId: question.id },
        ]),
      ValidationError,
      '0.parentId',
    );
  });

  it('cycles cannot be built: a parent must exist first, so every parent id is smaller than its child', async () => {
    // The next id does not exist yet: refused, so a message can never name itself or a later one.
    const next = String(BigInt(answer.id) + 1000n);
    await unchanged(
      () =>
        f.cb.chat.append({ userId: owner, conversationId: id, role: 'user', content: 'x', parentId: next }),
      ValidationError,
      'parentId',
    );
    const rows = await f.cb.db
      .selectFrom('chat_messages')
      .select(['id', 'parent_id'])
      .where('parent_id', 'is not', null)
      .execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(BigInt(row.parent_id as string) < BigInt(row.id)).toBe(true);
  });

  it('edit and regenerate by a viewer or a stranger, of the wrong role, or of an unknown id', async () => {
    await unchanged(
      () => f.cb.chat.edit({ userId: viewer, messageId: question.id, content: 'x' }),
      ForbiddenError,
    );
    await unchanged(
      () => f.cb.chat.edit({ userId: viewer, conversationId: id, messageId: question.id, content: 'x' }),
      ForbiddenError,
    );
    await unchanged(
      () => f.cb.chat.edit({ userId: stranger, messageId: question.id, content: 'x' }),
      ForbiddenError,
    );
    await unchanged(
      () => f.cb.chat.edit({ userId: stranger, conversationId: id, messageId: question.id, content: 'x' }),
      ForbiddenError,
    );
    await unchanged(
      () => f.cb.chat.regenerate({ userId: stranger, messageId: answer.id, content: 'x' }),
      ForbiddenError,
    );
    await unchanged(
      () => f.cb.chat.regenerate({ userId: owner, messageId: question.id, content: 'x' }),
      ValidationError,
      'messageId',
    );
    await unchanged(
      () => f.cb.chat.edit({ userId: owner, conversationId: id, messageId: foreign.id, content: 'x' }),
      NotFoundError,
    );
    await unchanged(
      () => f.cb.chat.edit({ userId: owner, messageId: 'x', content: 'x' }),
      ValidationError,
      'messageId',
    );
    await unchanged(
      () => f.cb.chat.edit({ userId: owner, messageId: question.id, content: 'a\u0000b' }),
      ValidationError,
      'content',
    );
    await expect(f.cb.chat.siblings({ userId: stranger, messageId: question.id })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
  });

  it('setActiveLeaf, path and their cursors stay in their conversation', async () => {
    await unchanged(
      () => f.cb.chat.setActiveLeaf({ userId: owner, conversationId: id, messageId: foreign.id }),
      ValidationError,
      'messageId',
    );
    await unchanged(
      () => f.cb.chat.setActiveLeaf({ userId: viewer, conversationId: id, messageId: question.id }),
      ForbiddenError,
    );
    await expect(
      f.cb.chat.path({ userId: owner, conversationId: id, leafId: foreign.id }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(f.cb.chat.path({ userId: stranger, conversationId: id })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    const page = await f.cb.chat.path({ userId: owner, conversationId: id, limit: 1 });
    expect(page.nextCursor).toBeDefined();
    await expect(
      f.cb.chat.path({ userId: owner, conversationId: other, cursor: page.nextCursor }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      f.cb.chat.history({ userId: owner, conversationId: id, cursor: page.nextCursor }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('audit', () => {
  it('edits and regenerations are audited without content', async () => {
    const id = await conversation();
    const q = await say(id, 'user', 'q');
    const a = await say(id, 'assistant', 'a');
    const asMember = f.cb.withActor({ userId: member });
    const edited = await asMember.chat.edit({
      userId: member,
      messageId: q.id,
      content: 'SECRET edited question',
    });
    const again = await asMember.chat.regenerate({
      userId: member,
      messageId: a.id,
      content: 'SECRET new answer',
    });
    const { items } = await f.cb.audit.query({ resourceId: id, limit: 50 });
    const tree = items
      .filter((e) => e.action === 'chat.message_edit' || e.action === 'chat.message_regenerate')
      .map((e) => ({ action: e.action, userId: e.userId, subjectId: e.subjectId, metadata: e.metadata }))
      .reverse();
    expect(tree).toEqual([
      {
        action: 'chat.message_edit',
        userId: member,
        subjectId: owner,
        metadata: { messageId: edited.id, siblingOf: q.id, role: 'user' },
      },
      {
        action: 'chat.message_regenerate',
        userId: member,
        subjectId: owner,
        metadata: { messageId: again.id, siblingOf: a.id, role: 'assistant' },
      },
    ]);
    expect(JSON.stringify(items)).not.toContain('SECRET');
  });
});

describe('concurrent writes on a chosen branch', () => {
  /** The children of each message of the conversation that has more than one (a fork). */
  async function forks(conversationId: string): Promise<string[]> {
    const { rows } = await sql<{ parent_id: string; n: number }>`select parent_id, count(*)::int as n
      from ${sql.id(f.cb.config.schema, 'chat_messages')}
      where conversation_id = ${conversationId} and parent_id is not null
      group by parent_id having count(*) > 1`.execute(f.cb.db);
    return rows.map((row) => `${row.parent_id}:${row.n}`);
  }

  it('appends racing after setActiveLeaf continue the branch as one chain, whichever commits first', async () => {
    const id = await conversation();
    await say(id, 'user', 'q1');
    const a1 = await say(id, 'assistant', 'a1');
    await say(id, 'user', 'q2');
    await say(id, 'assistant', 'a2');
    for (let round = 0; round < 4; round++) {
      // Back to a1: each round starts a new branch under it, written by six concurrent appends.
      await f.cb.chat.setActiveLeaf({ userId: owner, conversationId: id, messageId: a1.id });
      const written = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          f.cb.chat.append({
            userId: i % 2 === 0 ? owner : member,
            conversationId: id,
            role: 'user',
            content: `r${round} m${i}`,
          }),
        ),
      );
      const path = await pathOf(id);
      expect(path.slice(0, 2)).toEqual(['q1', 'a1']);
      expect([...path.slice(2)].sort()).toEqual(written.map((m) => m.content).sort());
    }
    // One explicit branch per round under a1 (q2 follows it implicitly), and no other fork.
    expect(await forks(id)).toEqual([`${a1.id}:4`]);
  });

  it('appendMany and append racing after setActiveLeaf: one chain, batches kept together', async () => {
    const id = await conversation();
    const q1 = await say(id, 'user', 'q1');
    await say(id, 'assistant', 'a1');
    for (let round = 0; round < 4; round++) {
      await f.cb.chat.setActiveLeaf({ userId: owner, conversationId: id, messageId: q1.id });
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          i % 2 === 0
            ? f.cb.chat.appendMany([
                { userId: owner, conversationId: id, role: 'assistant', content: `r${round} b${i} 1` },
                { userId: owner, conversationId: id, role: 'user', content: `r${round} b${i} 2` },
              ])
            : f.cb.chat.append({
                userId: member,
                conversationId: id,
                role: 'user',
                content: `r${round} m${i}`,
              }),
        ),
      );
      const path = await pathOf(id);
      expect(path[0]).toBe('q1');
      expect(path).toHaveLength(10);
      for (const i of [0, 2, 4])
        expect(path.indexOf(`r${round} b${i} 2`)).toBe(path.indexOf(`r${round} b${i} 1`) + 1);
    }
    expect(await forks(id)).toEqual([`${q1.id}:4`]);
  });
});

describe('plans', () => {
  it('path walks by index only: no sequential scan on a large branched conversation', async () => {
    const database = await createTestDatabase({ carebase: { pool: { max: 1 } } });
    try {
      const cb = database.db;
      const s = (name: string) => `"${cb.config.schema}".${name}`;
      const userId = (
        await cb.db
          .insertInto('users')
          .values({
            username: `plan_${randomBytes(4).toString('hex')}`,
            email: `${randomBytes(4).toString('hex')}@example.org`,
            password_hash: 'x',
            role: 'nurse',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      const conversationId = (await cb.chat.createConversation({ userId })).id;
      const ownerClient = new pg.Client({ connectionString: database.ownerUrl });
      await ownerClient.connect();
      try {
        // 3,000 other users with a conversation each (so an index is the planner's choice on the
        // conversation tables, as in production), then 20,000 linear messages (implicit parents)
        // and 20,000 branched ones (explicit parents).
        await ownerClient.query(`insert into ${s('users')} (username, email, password_hash, role)
          select 'tree_' || g, 'tree_' || g || '@example.org', 'x', 'nurse' from generate_series(1, 3000) g`);
        await ownerClient.query(
          `insert into ${s('conversations')} (user_id, is_default) select id, true from ${s('users')} where username like 'tree_%'`,
        );
        await ownerClient.query(
          `insert into ${s('chat_messages')} (user_id, conversation_id, role, content, created_at)
           select $1, $2, 'user', 'seed ' || g, '2020-01-01'::timestamptz + g * interval '1 second' from generate_series(1, 20000) g`,
          [userId, conversationId],
        );
        await ownerClient.query(
          `insert into ${s('chat_messages')} (user_id, conversation_id, role, content, parent_id, created_at)
           select $1, $2, 'assistant', 'branch ' || g, (select max(id) from ${s('chat_messages')}) + g - 1, '2021-01-01'::timestamptz + g * interval '1 second'
           from generate_series(1, 20000) g`,
          [userId, conversationId],
        );
        await ownerClient.query(
          `analyze ${s('conversations')}, ${s('conversation_participants')}, ${s('chat_messages')}`,
        );
      } finally {
        await ownerClient.end();
      }
      for (let i = 0; i < 8; i++) {
        const page = await cb.chat.path({ userId, conversationId, limit: 50 });
        expect(page.items).toHaveLength(50);
        await cb.chat.siblings({ userId, conversationId, messageId: (page.items[10] as ChatMessage).id });
      }
      const { rows } = await sql<{
        name: string;
        statement: string;
      }>`select name, statement from pg_prepared_statements
        where statement like '%with recursive access%' or statement like '%and not next.is_root%' or statement like '%is_root, p.role%'`.execute(
        cb.db,
      );
      expect(rows.length).toBeGreaterThanOrEqual(2);
      for (const row of rows) {
        const args = row.statement.includes('with recursive')
          ? `'${userId}', '${conversationId}', null`
          : row.statement.includes('not next.is_root')
            ? `'${userId}', '${conversationId}', 5`
            : `'${userId}', 5, '${conversationId}'`;
        for (const mode of ['force_generic_plan', 'force_custom_plan']) {
          const plan = await cb.transaction(async (tx) => {
            await sql`set local plan_cache_mode = ${sql.raw(mode)}`.execute(tx.db);
            const explained = await sql<{
              'QUERY PLAN': [{ Plan: Record<string, unknown> }];
            }>`explain (format json)
              execute ${sql.raw(row.name)}(${sql.raw(args)})`.execute(tx.db);
            return explained.rows[0]?.['QUERY PLAN'][0].Plan as Record<string, unknown>;
          });
          const nodes = (p: Record<string, unknown>): Record<string, unknown>[] => [
            p,
            ...((p.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(nodes),
          ];
          const scans = nodes(plan)
            .filter((n) => n['Node Type'] === 'Seq Scan')
            .map((n) => n['Relation Name']);
          expect({ statement: row.statement, mode, scans }).toEqual({
            statement: row.statement,
            mode,
            scans: [],
          });
        }
      }
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describe('with encryption', () => {
  it('edits and regenerations are sealed like appends; path and siblings decrypt', async () => {
    const keyring = localKeyring({ keys: { 'kek-1': randomBytes(32) }, current: 'kek-1' });
    const database = await createTestDatabase({ carebase: { pool: { max: 4 }, encryption: { keyring } } });
    try {
      const cb = database.db;
      const userId = (
        await cb.db
          .insertInto('users')
          .values({
            username: `enc_${randomBytes(4).toString('hex')}`,
            email: `${randomBytes(4).toString('hex')}@example.org`,
            password_hash: 'x',
            role: 'nurse',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      const { id } = await cb.chat.createConversation({ userId });
      const q = await cb.chat.append({
        userId,
        conversationId: id,
        role: 'user',
        content: 'SECRET question',
      });
      const a = await cb.chat.append({
        userId,
        conversationId: id,
        role: 'assistant',
        content: 'SECRET answer',
      });
      const q2 = await cb.chat.edit({ userId, messageId: q.id, content: 'SECRET edited' });
      expect(q2.content).toBe('SECRET edited');
      await cb.chat.append({ userId, conversationId: id, role: 'assistant', content: 'SECRET answer 2' });
      const page = await cb.chat.path({ userId, conversationId: id });
      expect(page.items.map((m) => m.content)).toEqual(['SECRET edited', 'SECRET answer 2']);
      const again = await cb.chat.regenerate({
        userId,
        messageId: (page.items[1] as ChatMessage).id,
        content: 'SECRET answer 3',
      });
      expect((await cb.chat.path({ userId, conversationId: id })).items.map((m) => m.content)).toEqual([
        'SECRET edited',
        'SECRET answer 3',
      ]);
      const siblings = await cb.chat.siblings({ userId, messageId: q.id });
      expect(siblings.items.map((m) => m.content)).toEqual(['SECRET question', 'SECRET edited']);
      expect(again.parentId).toBe(q2.id);
      expect(a.parentId).toBeNull();
      const stored = await cb.db.selectFrom('chat_messages').select(['content', 'metadata']).execute();
      expect(stored).toHaveLength(5);
      expect(JSON.stringify(stored)).not.toContain('SECRET');
    } finally {
      await database.drop();
    }
  }, 60_000);
});
