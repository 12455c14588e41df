import { randomBytes } from 'node:crypto';
import {
  type Carebase,
  ConflictError,
  ConstraintViolationError,
  ForbiddenError,
  localKeyring,
  NotFoundError,
} from 'carebase';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * Concurrent single-message appends share one statement (src/repositories/chat/append-group.ts):
 * each caller still gets its own message and its own outcome, and what is stored is what
 * separate appends would have stored. Read back as the owner with raw SQL; "one statement" is
 * seen as one transaction id (xmin) on the rows.
 */
let f: ChatFixture;
let owner: pg.Client;
let schema: string;

beforeAll(async () => {
  f = await chatFixture({ pool: { max: 8 } });
  schema = f.cb.config.schema;
  owner = new pg.Client({ connectionString: f.database.ownerUrl });
  await owner.connect();
});

afterAll(async () => {
  await owner?.end();
  await f?.close();
});

interface StoredRow {
  id: string;
  user_id: string;
  author_user_id: string;
  conversation_id: string;
  role: string;
  content: string;
  metadata: unknown;
  parent_id: string | null;
  created_at: Date;
  xmin: string;
}

async function stored(ids: readonly string[]): Promise<Map<string, StoredRow>> {
  const { rows } = await owner.query<StoredRow>(
    `select id::text, user_id, author_user_id, conversation_id, role, content, metadata, parent_id::text,
      created_at, xmin::text from "${schema}".chat_messages where id = any($1::bigint[])`,
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row]));
}

async function conversationOf(cb: Carebase, userId: string): Promise<string> {
  return (await cb.chat.createConversation({ userId, title: 'group' })).id;
}

describe('concurrent appends in one statement', () => {
  it('eight writers: each gets its own message, all written in one transaction', async () => {
    const writers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const userId = await f.user();
        return { userId, conversationId: await conversationOf(f.cb, userId) };
      }),
    );
    const before = new Date(Date.now() - 1000);
    const messages = await Promise.all(
      writers.map((w, i) =>
        f.cb.chat.append({
          ...w,
          role: i % 2 === 0 ? 'user' : 'assistant',
          content: `note ${i}`,
          metadata: { writer: i },
        }),
      ),
    );
    const rows = await stored(messages.map((m) => m.id));
    messages.forEach((message, i) => {
      const w = writers[i] as { userId: string; conversationId: string };
      expect(message).toMatchObject({
        userId: w.userId,
        authorUserId: w.userId,
        conversationId: w.conversationId,
        role: i % 2 === 0 ? 'user' : 'assistant',
        content: `note ${i}`,
        metadata: { writer: i },
        parentId: null,
      });
      const row = rows.get(message.id);
      expect(row).toMatchObject({
        user_id: w.userId,
        author_user_id: w.userId,
        conversation_id: w.conversationId,
        content: `note ${i}`,
        metadata: { writer: i },
      });
      expect(row?.created_at.getTime()).toBe(message.createdAt.getTime());
    });
    expect(new Set([...rows.values()].map((row) => row.xmin)).size).toBe(1);
    // Each conversation's last_message_at moved to its message.
    const { rows: touched } = await owner.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".conversations
       where id = any($1::uuid[]) and last_message_at > $2`,
      [writers.map((w) => w.conversationId), before],
    );
    expect(touched[0]?.n).toBe(8);
  });

  it('appends to one conversation keep their call order, and history reads them so', async () => {
    const userId = await f.user();
    const conversationId = await conversationOf(f.cb, userId);
    const messages = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        f.cb.chat.append({ userId, conversationId, role: 'user', content: `m${i}` }),
      ),
    );
    const ids = messages.map((m) => BigInt(m.id));
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    const page = await f.cb.chat.history({ userId, conversationId, limit: 10, order: 'asc' });
    expect(page.items.map((m) => m.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(page.items.map((m) => m.id)).toEqual(messages.map((m) => m.id));
  });

  it('a caller the group leaves out gets its own outcome; the others are written', async () => {
    const ownerId = await f.user();
    const member = await f.user();
    const viewer = await f.user();
    const stranger = await f.user();
    const shared = await conversationOf(f.cb, ownerId);
    await f.cb.chat.addParticipant({
      userId: ownerId,
      conversationId: shared,
      participantId: member,
      role: 'member',
    });
    await f.cb.chat.addParticipant({
      userId: ownerId,
      conversationId: shared,
      participantId: viewer,
      role: 'viewer',
    });
    // A conversation with a chosen leaf: its append goes under that leaf (the full shape).
    const branched = await conversationOf(f.cb, ownerId);
    const root = await f.cb.chat.append({
      userId: ownerId,
      conversationId: branched,
      role: 'user',
      content: 'root',
    });
    await f.cb.chat.append({
      userId: ownerId,
      conversationId: branched,
      role: 'assistant',
      content: 'first answer',
    });
    await f.cb.chat.setActiveLeaf({ userId: ownerId, conversationId: branched, messageId: root.id });
    const settled = await Promise.allSettled([
      f.cb.chat.append({ userId: ownerId, conversationId: shared, role: 'user', content: 'from the owner' }),
      f.cb.chat.append({ userId: member, conversationId: shared, role: 'user', content: 'from a member' }),
      f.cb.chat.append({ userId: viewer, conversationId: shared, role: 'user', content: 'from a viewer' }),
      f.cb.chat.append({
        userId: stranger,
        conversationId: shared,
        role: 'user',
        content: 'from a stranger',
      }),
      f.cb.chat.append({
        userId: ownerId,
        conversationId: branched,
        role: 'assistant',
        content: 'second answer',
      }),
      f.cb.chat.append({
        userId: ownerId,
        conversationId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
        role: 'user',
        content: 'nowhere',
      }),
    ]);
    const [byOwner, byMember, byViewer, byStranger, underLeaf, nowhere] = settled;
    expect(byOwner.status).toBe('fulfilled');
    expect(byMember.status).toBe('fulfilled');
    expect(byViewer.status === 'rejected' && byViewer.reason).toBeInstanceOf(ForbiddenError);
    expect(byStranger.status === 'rejected' && byStranger.reason).toBeInstanceOf(ForbiddenError);
    expect(nowhere.status === 'rejected' && nowhere.reason).toBeInstanceOf(NotFoundError);
    expect(underLeaf.status).toBe('fulfilled');
    const answer = (underLeaf as PromiseFulfilledResult<{ id: string; parentId: string | null }>).value;
    expect(answer.parentId).toBe(root.id);
    const ok = [byOwner, byMember].map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
    const rows = await stored(ok);
    expect(rows.get(ok[0] as string)).toMatchObject({ user_id: ownerId, author_user_id: ownerId });
    // The member's message is stored under the owner's key, authored by the member.
    expect(rows.get(ok[1] as string)).toMatchObject({ user_id: ownerId, author_user_id: member });
    expect(new Set([...rows.values()].map((row) => row.xmin)).size).toBe(1);
    const { rows: written } = await owner.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".chat_messages where conversation_id = $1`,
      [shared],
    );
    expect(written[0]?.n).toBe(2);
  });

  it('appends with usage records: messages and their usage written together, per caller', async () => {
    const writers = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const userId = await f.user();
        return { userId, conversationId: await conversationOf(f.cb, userId) };
      }),
    );
    const messages = await Promise.all(
      writers.map((w, i) =>
        f.cb.chat.append({
          ...w,
          role: 'assistant',
          content: `answer ${i}`,
          usage: {
            provider: 'openai',
            model: `model-${i}`,
            inputTokens: 100 + i,
            outputTokens: 10 * i,
            cost: `0.00${i + 1}`,
            currency: 'USD',
            status: i === 4 ? 'error' : 'ok',
          },
        }),
      ),
    );
    const { rows } = await owner.query<{
      message_id: string;
      user_id: string;
      author_user_id: string;
      model: string;
      input_tokens: string;
      output_tokens: string;
      cost: string;
      status: string;
      created_at: Date;
      xmin: string;
    }>(
      `select message_id::text, user_id, author_user_id, model, input_tokens::text, output_tokens::text, trim_scale(cost)::text as cost,
        status, created_at, xmin::text from "${schema}".chat_usage where message_id = any($1::bigint[])`,
      [messages.map((m) => m.id)],
    );
    const byMessage = new Map(rows.map((row) => [row.message_id, row]));
    messages.forEach((message, i) => {
      expect(message.content).toBe(`answer ${i}`);
      expect(byMessage.get(message.id)).toMatchObject({
        user_id: writers[i]?.userId,
        author_user_id: writers[i]?.userId,
        model: `model-${i}`,
        input_tokens: String(100 + i),
        output_tokens: String(10 * i),
        cost: `0.00${i + 1}`,
        status: i === 4 ? 'error' : 'ok',
      });
      expect(byMessage.get(message.id)?.created_at.getTime()).toBe(message.createdAt.getTime());
    });
    const messageRows = await stored(messages.map((m) => m.id));
    const xmins = new Set([
      ...rows.map((row) => row.xmin),
      ...[...messageRows.values()].map((row) => row.xmin),
    ]);
    expect(xmins.size).toBe(1);
  });

  it('appends with client ids: grouped, and a retry returns the stored message without a second row', async () => {
    const writers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const userId = await f.user();
        return { userId, conversationId: await conversationOf(f.cb, userId) };
      }),
    );
    const send = () =>
      Promise.all(
        writers.map((w, i) => f.cb.chat.append({ ...w, role: 'user', content: `turn ${i}`, id: `msg-${i}` })),
      );
    const first = await send();
    const rows = await stored(first.map((m) => m.id));
    expect(new Set([...rows.values()].map((row) => row.xmin)).size).toBe(1);
    first.forEach((message, i) => {
      expect(message).toMatchObject({
        userId: writers[i]?.userId,
        content: `turn ${i}`,
        clientId: `msg-${i}`,
      });
    });
    // The same appends again, together: each returns its stored message.
    const retried = await send();
    expect(retried.map((m) => m.id)).toEqual(first.map((m) => m.id));
    const { rows: counted } = await owner.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".chat_messages where conversation_id = any($1::uuid[])`,
      [writers.map((w) => w.conversationId)],
    );
    expect(counted[0]?.n).toBe(6);
  });

  it('one client id twice in the same turn: one row; with other content, a ConflictError', async () => {
    const userId = await f.user();
    const conversationId = await conversationOf(f.cb, userId);
    const input = { userId, conversationId, role: 'user' as const, content: 'once', id: 'twice' };
    const [a, b] = await Promise.all([f.cb.chat.append(input), f.cb.chat.append(input)]);
    expect(b?.id).toBe(a?.id);
    const settled = await Promise.allSettled([
      f.cb.chat.append({ ...input, id: 'clash', content: 'one' }),
      f.cb.chat.append({ ...input, id: 'clash', content: 'other' }),
    ]);
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(ConflictError);
    const { rows } = await owner.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".chat_messages where conversation_id = $1`,
      [conversationId],
    );
    expect(rows[0]?.n).toBe(2);
  });

  it('callers that drifted apart group again: a lone append holds its slot while it runs, for a bounded time', async () => {
    const writers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const userId = await f.user();
        return { userId, conversationId: await conversationOf(f.cb, userId) };
      }),
    );
    const [a, b, ...rest] = writers as [(typeof writers)[0], (typeof writers)[0], ...typeof writers];
    // The first two appends wait on a row lock of their conversations (their foreign-key check),
    // held by another session until the end of the test: two lone appends that do not come back.
    const locker = new pg.Client({ connectionString: f.database.ownerUrl });
    await locker.connect();
    const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
    try {
      await locker.query('begin');
      await locker.query(`select 1 from "${schema}".conversations where id = any($1::uuid[]) for update`, [
        [a.conversationId, b.conversationId],
      ]);
      // One turn apart, so each goes alone and takes one of the group's two slots.
      const stuck: Promise<{ content: string }>[] = [];
      for (const w of [a, b]) {
        stuck.push(f.cb.chat.append({ ...w, role: 'user', content: 'waits for the lock' }));
        await tick();
      }
      let stuckSettled = false;
      void Promise.allSettled(stuck).then(() => {
        stuckSettled = true;
      });
      // The others arrive one turn of the event loop apart, as requests do: each would go alone.
      const others: Promise<{ id: string }>[] = [];
      for (const w of rest) {
        others.push(f.cb.chat.append({ ...w, role: 'user', content: 'arrives later' }));
        await tick();
      }
      const written = await Promise.race([
        Promise.all(others),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the later appends waited for the stuck ones')), 5000),
        ),
      ]);
      // They did not wait for the lock (a slot is held LONE_HOLD_MS at most), and went together.
      expect(stuckSettled).toBe(false);
      const rows = await stored(written.map((m) => m.id));
      expect(rows.size).toBe(6);
      expect(new Set([...rows.values()].map((row) => row.xmin)).size).toBeLessThanOrEqual(2);
      await locker.query('commit');
      expect((await Promise.all(stuck)).map((m) => m.content)).toEqual([
        'waits for the lock',
        'waits for the lock',
      ]);
    } finally {
      await locker.end();
    }
  });

  it('a group the server refuses: each caller runs alone, and only the bad append fails', async () => {
    await owner.query(
      `alter table "${schema}".chat_messages add constraint group_test_refuse check (content <> 'refuse me')`,
    );
    try {
      const writers = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const userId = await f.user();
          return { userId, conversationId: await conversationOf(f.cb, userId) };
        }),
      );
      const settled = await Promise.allSettled(
        ['fine', 'refuse me', 'also fine'].map((content, i) =>
          f.cb.chat.append({
            ...(writers[i] as { userId: string; conversationId: string }),
            role: 'user',
            content,
          }),
        ),
      );
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConstraintViolationError);
      const { rows } = await owner.query<{ content: string }>(
        `select content from "${schema}".chat_messages where conversation_id = any($1::uuid[]) order by content`,
        [writers.map((w) => w.conversationId)],
      );
      expect(rows.map((row) => row.content)).toEqual(['also fine', 'fine']);
    } finally {
      await owner.query(`alter table "${schema}".chat_messages drop constraint group_test_refuse`);
    }
  });
});

describe('concurrent appends with encryption on', () => {
  let sealed: ChatFixture;
  beforeAll(async () => {
    sealed = await chatFixture({
      pool: { max: 8 },
      encryption: { keyring: localKeyring({ keys: { k1: randomBytes(32) }, current: 'k1' }) },
    });
  });
  afterAll(async () => {
    await sealed?.close();
  });

  it('are sealed per row and read back in clear', async () => {
    const writers = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const userId = await sealed.user();
        return { userId, conversationId: await conversationOf(sealed.cb, userId) };
      }),
    );
    // A writer's first append creates its data key (and reads the conversation's owner): those
    // go alone. The next ones, with the keys cached, arrive together.
    for (const w of writers) await sealed.cb.chat.append({ ...w, role: 'system', content: 'start' });
    const messages = await Promise.all(
      writers.map((w, i) => sealed.cb.chat.append({ ...w, role: 'user', content: `private ${i}` })),
    );
    const sealedOwner = new pg.Client({ connectionString: sealed.database.ownerUrl });
    await sealedOwner.connect();
    try {
      const { rows } = await sealedOwner.query<{ content: string; xmin: string; sealed: boolean }>(
        `select content, xmin::text, jsonb_typeof(metadata) = 'string' as sealed
         from "${sealed.cb.config.schema}".chat_messages where id = any($1::bigint[])`,
        [messages.map((m) => m.id)],
      );
      expect(rows).toHaveLength(4);
      for (const row of rows) expect(row).toMatchObject({ content: '', sealed: true });
      expect(new Set(rows.map((row) => row.xmin)).size).toBe(1);
    } finally {
      await sealedOwner.end();
    }
    for (const [i, w] of writers.entries()) {
      const page = await sealed.cb.chat.history({ ...w, limit: 5 });
      expect(page.items.map((m) => m.content)).toEqual(['start', `private ${i}`]);
    }
  });
});
