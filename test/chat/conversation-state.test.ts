import { ForbiddenError, isCarebaseError, ValidationError, VersionConflictError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/** updateConversation: status, metadata, title, archiving, retention override, optimistic concurrency. */
let f: ChatFixture;
let owner: string;
let member: string;

beforeAll(async () => {
  f = await chatFixture();
  owner = await f.user();
  member = await f.user();
});

afterAll(async () => {
  await f?.close();
});

async function shared(title = 'ward 3'): Promise<string> {
  const { id } = await f.cb.chat.createConversation({ userId: owner, title });
  await f.cb.chat.addParticipant({
    userId: owner,
    conversationId: id,
    participantId: member,
    role: 'member',
  });
  return id;
}

describe('conversation state', () => {
  it('starts open at version 1; each update bumps the version, appends do not', async () => {
    const id = await shared();
    const created = await f.cb.chat.getConversation({ userId: owner, conversationId: id });
    expect(created).toMatchObject({ status: 'open', version: 1, archivedAt: null, retentionDays: null });
    await f.cb.chat.append({ userId: owner, conversationId: id, role: 'user', content: 'hello' });
    expect((await f.cb.chat.getConversation({ userId: owner, conversationId: id })).version).toBe(1);
    const escalated = await f.cb.chat.updateConversation(id, {
      userId: member,
      status: 'escalated',
      metadata: { triage: 'amber' },
      expectedVersion: 1,
    });
    expect(escalated).toMatchObject({ status: 'escalated', version: 2, metadata: { triage: 'amber' } });
    const renamed = await f.cb.chat.renameConversation({
      userId: owner,
      conversationId: id,
      title: 'ward 4',
    });
    expect(renamed.version).toBe(3);
    const cleared = await f.cb.chat.updateConversation(id, { userId: owner, metadata: null, title: null });
    expect(cleared).toMatchObject({ metadata: null, title: null, status: 'escalated', version: 4 });
  });

  it('a stale expectedVersion is a VersionConflictError (CONFLICT) and writes nothing', async () => {
    const id = await shared();
    await f.cb.chat.updateConversation(id, { userId: owner, status: 'closed' });
    const error = await f.cb.chat
      .updateConversation(id, { userId: member, status: 'escalated', expectedVersion: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(isCarebaseError(error, 'CONFLICT')).toBe(true);
    expect(error).toMatchObject({ field: 'version', expectedVersion: 1, currentVersion: 2 });
    expect(await f.cb.chat.getConversation({ userId: owner, conversationId: id })).toMatchObject({
      status: 'closed',
      version: 2,
    });
  });

  it('of concurrent updates from the same version exactly one applies', async () => {
    const id = await shared();
    const statuses = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'];
    const results = await Promise.allSettled(
      statuses.map((status) =>
        f.cb.chat.updateConversation(id, { userId: owner, status, expectedVersion: 1 }),
      ),
    );
    const applied = results.filter((r) => r.status === 'fulfilled');
    expect(applied).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(VersionConflictError);
    }
    const now = await f.cb.chat.getConversation({ userId: owner, conversationId: id });
    expect(now.version).toBe(2);
    expect(now.status).toBe((applied[0] as PromiseFulfilledResult<{ status: string }>).value.status);
  });

  it('refuses bad updates before any SQL, writing nothing', async () => {
    const id = await shared();
    const bad: [string, unknown][] = [
      [id, { userId: owner }],
      [id, { userId: owner, status: 'Escalated!' }],
      [id, { userId: owner, status: '' }],
      [id, { userId: owner, status: 'x'.repeat(33) }],
      [id, { userId: owner, retentionDays: 0 }],
      [id, { userId: owner, retainUntil: new Date(Number.NaN) }],
      [id, { userId: owner, title: 'x'.repeat(501) }],
      [id, { userId: owner, expectedVersion: 0, status: 'open' }],
      [id, { userId: owner, status: 'open', surprise: true }],
      ['not-a-uuid', { userId: owner, status: 'open' }],
    ];
    for (const [conversationId, update] of bad) {
      await expect(
        f.cb.chat.updateConversation(conversationId, update as { userId: string }),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect((await f.cb.chat.getConversation({ userId: owner, conversationId: id })).version).toBe(1);
  });

  it('a viewer cannot update', async () => {
    const id = await shared();
    const viewer = await f.user();
    await f.cb.chat.addParticipant({
      userId: owner,
      conversationId: id,
      participantId: viewer,
      role: 'viewer',
    });
    await expect(
      f.cb.chat.updateConversation(id, { userId: viewer, status: 'closed' }),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('archiving hides a conversation from listings unless asked; statuses filter listings', async () => {
    const user = await f.user();
    const kept = await f.cb.chat.createConversation({ userId: user, title: 'kept' });
    const archived = await f.cb.chat.createConversation({ userId: user, title: 'archived' });
    const closed = await f.cb.chat.createConversation({ userId: user, title: 'closed' });
    await f.cb.chat.updateConversation(closed.id, { userId: user, status: 'closed' });
    const result = await f.cb.chat.updateConversation(archived.id, { userId: user, archived: true });
    expect(result.archivedAt).toBeInstanceOf(Date);
    const titles = async (input: Parameters<typeof f.cb.chat.listConversations>[0]) =>
      (await f.cb.chat.listConversations(input)).items.map((c) => c.title).sort();
    expect(await titles({ userId: user })).toEqual(['closed', 'kept']);
    expect(await titles({ userId: user, archived: 'include' })).toEqual(['archived', 'closed', 'kept']);
    expect(await titles({ userId: user, archived: 'only' })).toEqual(['archived']);
    expect(await titles({ userId: user, status: 'closed' })).toEqual(['closed']);
    // Archiving again keeps the first archiving time; unarchiving brings it back.
    const again = await f.cb.chat.updateConversation(archived.id, { userId: user, archived: true });
    expect(again.archivedAt).toEqual(result.archivedAt);
    await f.cb.chat.updateConversation(archived.id, { userId: user, archived: false });
    expect(await titles({ userId: user })).toEqual(['archived', 'closed', 'kept']);
    // Archived conversations still read and write.
    expect(kept.id).toBeDefined();
  });

  it('applyRetention honours per-conversation retentionDays and retainUntil', async () => {
    const user = await f.user();
    const day = 86_400_000;
    const now = Date.now();
    const make = async (
      title: string,
      update?: Omit<Parameters<typeof f.cb.chat.updateConversation>[1], 'userId'>,
    ) => {
      const { id } = await f.cb.chat.createConversation({ userId: user, title });
      if (update !== undefined) await f.cb.chat.updateConversation(id, { userId: user, ...update });
      await f.cb.db
        .insertInto('chat_messages')
        .values(
          [0.5, 5, 20, 200].map((age) => ({
            user_id: user,
            conversation_id: id,
            role: 'user' as const,
            content: `${age} days old`,
            created_at: new Date(now - age * day),
          })),
        )
        .execute();
      return id;
    };
    const plain = await make('global');
    const short = await make('short', { retentionDays: 1 });
    const held = await make('held', { retainUntil: new Date(now + day) });
    const long = await make('long', { retentionDays: 100 });
    const expiredHold = await make('expired hold', { retentionDays: 1, retainUntil: new Date(now - day) });
    const deleted = await f.cb.chat.applyRetention({ olderThanDays: 10 });
    const left = async (conversationId: string) =>
      (await f.cb.chat.history({ userId: user, conversationId })).items.map((m) => m.content);
    expect(await left(plain)).toEqual(['5 days old', '0.5 days old']);
    expect(await left(short)).toEqual(['0.5 days old']);
    expect(await left(held)).toEqual(['200 days old', '20 days old', '5 days old', '0.5 days old']);
    expect(await left(long)).toEqual(['20 days old', '5 days old', '0.5 days old']);
    expect(await left(expiredHold)).toEqual(['0.5 days old']);
    // Other test conversations in this database hold only fresh messages.
    expect(deleted).toBe(2 + 3 + 0 + 1 + 3);
    // Lifting the hold: the next sweep applies the global rule to it.
    await f.cb.chat.updateConversation(held, { userId: user, retainUntil: null });
    expect(await f.cb.chat.applyRetention({ olderThanDays: 10 })).toBe(2);
  });
});
