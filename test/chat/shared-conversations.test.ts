import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * A patient's conversation with a clinician (member), an auditor (viewer) and the assistant in it;
 * a stranger outside it. Every read and write checks participation, not ownership.
 */
let f: ChatFixture;
let patient: string;
let clinician: string;
let auditor: string;
let stranger: string;
let conversationId: string;

beforeAll(async () => {
  f = await chatFixture();
  [patient, clinician, auditor, stranger] = [await f.user(), await f.user(), await f.user(), await f.user()];
  conversationId = (await f.cb.chat.createConversation({ userId: patient, title: 'knee pain' })).id;
  await f.cb.chat.append({
    userId: patient,
    conversationId,
    role: 'user',
    content: 'my knee hurts at night',
  });
  await f.cb.chat.append({ userId: patient, conversationId, role: 'assistant', content: 'ice and rest' });
  await f.cb.chat.addParticipant({
    userId: patient,
    conversationId,
    participantId: clinician,
    role: 'member',
  });
  await f.cb.chat.addParticipant({ userId: patient, conversationId, participantId: auditor, role: 'viewer' });
});

afterAll(async () => {
  await f?.close();
});

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

async function contents(): Promise<string[]> {
  const rows = await f.cb.db
    .selectFrom('chat_messages')
    .select('content')
    .where('conversation_id', '=', conversationId)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.content);
}

async function participantCount(): Promise<number> {
  const rows = await f.cb.db
    .selectFrom('conversation_participants')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .execute();
  return rows.length;
}

describe('shared conversations', () => {
  it('lists the participants, owner first', async () => {
    const participants = await f.cb.chat.listParticipants({ userId: auditor, conversationId });
    expect(participants.map((p) => [p.userId, p.role])).toEqual([
      [patient, 'owner'],
      [clinician, 'member'],
      [auditor, 'viewer'],
    ]);
  });

  it('a member writes in the thread: stored under the owner, authored by the member', async () => {
    const reply = await f.cb.chat.append({
      userId: clinician,
      conversationId,
      role: 'user',
      content: 'Dr. Ruiz here: please book an X-ray',
    });
    expect(reply).toMatchObject({ userId: patient, authorUserId: clinician, conversationId });
    // Every participant reads the same thread, with each message's author.
    for (const reader of [patient, clinician, auditor]) {
      const page = await f.cb.chat.history({ userId: reader, conversationId });
      expect(page.items.map((m) => [m.authorUserId, m.content])).toEqual([
        [patient, 'my knee hurts at night'],
        [patient, 'ice and rest'],
        [clinician, 'Dr. Ruiz here: please book an X-ray'],
      ]);
      const desc = await f.cb.chat.history({ userId: reader, conversationId, order: 'desc', limit: 1 });
      expect(desc.items.map((m) => m.content)).toEqual(['Dr. Ruiz here: please book an X-ray']);
      const latest = await f.cb.chat.latest({ userId: reader, conversationId, n: 2 });
      expect(latest.map((m) => m.content)).toEqual(['ice and rest', 'Dr. Ruiz here: please book an X-ray']);
      const hits = await f.cb.chat.search({ userId: reader, conversationId, query: 'x-ray' });
      expect(hits.items.map((h) => h.message.authorUserId)).toEqual([clinician]);
      const exported = await drain(f.cb.chat.export({ userId: reader, conversationId, format: 'jsonl' }));
      expect(exported).toContain('please book an X-ray');
      expect(exported).toContain(`"authorUserId":"${clinician}"`);
      const conversation = await f.cb.chat.getConversation({ userId: reader, conversationId });
      expect(conversation.userId).toBe(patient);
    }
  });

  it('search and export without a conversation id cover the conversations shared with the user', async () => {
    const hits = await f.cb.chat.search({ userId: auditor, query: 'knee' });
    expect(hits.items.map((h) => h.message.content)).toEqual(['my knee hurts at night']);
    const exported = await drain(f.cb.chat.export({ userId: clinician, format: 'jsonl' }));
    expect(exported).toContain('my knee hurts at night');
    // The clinician's own conversations are there too, merged in conversation order.
    const own = await f.cb.chat.append({ userId: clinician, role: 'user', content: 'my own notes on knees' });
    const both = await f.cb.chat.search({ userId: clinician, query: 'knee' });
    expect(both.items.map((h) => h.message.content).sort()).toEqual([
      'my knee hurts at night',
      'my own notes on knees',
    ]);
    const lines = (await drain(f.cb.chat.export({ userId: clinician, format: 'jsonl' })))
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => JSON.parse(line) as { conversationId: string });
    const order = lines.map((line) => line.conversationId);
    expect(order).toEqual([...order].sort());
    expect(new Set(order)).toEqual(new Set([conversationId, own.conversationId]));
  });

  it('listing conversations returns those a user takes part in; a stranger sees 0 threads', async () => {
    for (const reader of [patient, clinician, auditor]) {
      const { items } = await f.cb.chat.listConversations({ userId: reader });
      expect(items.map((c) => c.id)).toContain(conversationId);
    }
    expect((await f.cb.chat.listConversations({ userId: stranger })).items).toEqual([]);
    expect((await f.cb.chat.search({ userId: stranger, query: 'knee' })).items).toEqual([]);
    expect(await drain(f.cb.chat.export({ userId: stranger, format: 'jsonl' }))).not.toContain('knee');
  });

  it('pages through own and shared conversations by activity, each exactly once', async () => {
    const reader = await f.user();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const own = await f.cb.chat.createConversation({ userId: reader, title: `own ${i}` });
      const shared = await f.cb.chat.createConversation({ userId: patient, title: `shared ${i}` });
      await f.cb.chat.addParticipant({
        userId: patient,
        conversationId: shared.id,
        participantId: reader,
        role: 'viewer',
      });
      ids.push(own.id, shared.id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await f.cb.chat.listConversations({ userId: reader, limit: 3, cursor });
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toHaveLength(ids.length);
    expect(new Set(seen)).toEqual(new Set(ids));
  });

  it('a viewer reads only: every write is ForbiddenError and nothing is written', async () => {
    const before = await contents();
    const writes: [string, () => Promise<unknown>][] = [
      ['append', () => f.cb.chat.append({ userId: auditor, conversationId, role: 'user', content: 'x' })],
      [
        'append with id',
        () => f.cb.chat.append({ userId: auditor, conversationId, role: 'user', content: 'x', id: 'v1' }),
      ],
      [
        'appendMany',
        () =>
          f.cb.chat.appendMany([
            { userId: clinician, conversationId, role: 'user', content: 'fine alone' },
            { userId: auditor, conversationId, role: 'user', content: 'x' },
          ]),
      ],
      ['rename', () => f.cb.chat.renameConversation({ userId: auditor, conversationId, title: 'x' })],
      ['update', () => f.cb.chat.updateConversation(conversationId, { userId: auditor, status: 'closed' })],
      ['clear', () => f.cb.chat.clear({ userId: auditor, conversationId })],
      ['delete', () => f.cb.chat.deleteConversation({ userId: auditor, conversationId })],
      [
        'addParticipant',
        () =>
          f.cb.chat.addParticipant({
            userId: auditor,
            conversationId,
            participantId: stranger,
            role: 'viewer',
          }),
      ],
    ];
    for (const [name, write] of writes) {
      const error = await write().catch((e: unknown) => e);
      expect({ name, error }).toMatchObject({ name, error: { code: 'FORBIDDEN' } });
    }
    expect(await contents()).toEqual(before);
    expect(await participantCount()).toBe(3);
  });

  it("a member writes, but the owner's actions (clear, delete, sharing) stay the owner's", async () => {
    for (const action of [
      () => f.cb.chat.clear({ userId: clinician, conversationId }),
      () => f.cb.chat.deleteConversation({ userId: clinician, conversationId }),
      () =>
        f.cb.chat.addParticipant({
          userId: clinician,
          conversationId,
          participantId: stranger,
          role: 'member',
        }),
      () => f.cb.chat.removeParticipant({ userId: clinician, conversationId, participantId: auditor }),
    ]) {
      await expect(action()).rejects.toBeInstanceOf(ForbiddenError);
    }
    const renamed = await f.cb.chat.renameConversation({ userId: clinician, conversationId, title: 'knee' });
    expect(renamed.title).toBe('knee');
  });

  it('a stranger gets FORBIDDEN from every call on the conversation, and nothing changes', async () => {
    const before = await contents();
    const calls: (() => Promise<unknown>)[] = [
      () => f.cb.chat.getConversation({ userId: stranger, conversationId }),
      () => f.cb.chat.listParticipants({ userId: stranger, conversationId }),
      () => f.cb.chat.history({ userId: stranger, conversationId }),
      () => f.cb.chat.history({ userId: stranger, conversationId, offset: 1 }),
      () => f.cb.chat.latest({ userId: stranger, conversationId, n: 5 }),
      () => f.cb.chat.search({ userId: stranger, conversationId, query: 'knee' }),
      () => drain(f.cb.chat.export({ userId: stranger, conversationId, format: 'csv' })),
      () => f.cb.chat.append({ userId: stranger, conversationId, role: 'user', content: 'x' }),
      () => f.cb.chat.appendMany([{ userId: stranger, conversationId, role: 'user', content: 'x' }]),
      () => f.cb.chat.updateConversation(conversationId, { userId: stranger, title: 'x' }),
      () => f.cb.chat.removeParticipant({ userId: stranger, conversationId, participantId: stranger }),
    ];
    for (const call of calls) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForbiddenError);
      expect(error).toMatchObject({ code: 'FORBIDDEN' });
      expect((error as Error).message).not.toContain('knee');
    }
    expect(await contents()).toEqual(before);
  });

  it("a member's client id retries return the first message; other content is a conflict", async () => {
    const input = {
      userId: clinician,
      conversationId,
      role: 'user' as const,
      content: 'retry me',
      id: 'clin-1',
    };
    const first = await f.cb.chat.append(input);
    expect(await f.cb.chat.append(input)).toEqual(first);
    const [again] = await f.cb.chat.appendMany([input]);
    expect(again).toEqual(first);
    await expect(f.cb.chat.append({ ...input, content: 'changed' })).rejects.toBeInstanceOf(ConflictError);
    // The same id in the same conversation by another participant is not theirs to replay.
    await expect(f.cb.chat.append({ ...input, userId: patient })).rejects.toBeInstanceOf(ConflictError);
  });

  it('appendMany writes a member batch under the owner, with one author per message', async () => {
    const written = await f.cb.chat.appendMany([
      { userId: clinician, conversationId, role: 'user', content: 'batch from the clinician' },
      { userId: patient, conversationId, role: 'user', content: 'batch from the patient' },
      { userId: clinician, role: 'user', content: "in the clinician's own default conversation" },
    ]);
    expect(written.map((m) => [m.userId, m.authorUserId])).toEqual([
      [patient, clinician],
      [patient, patient],
      [clinician, clinician],
    ]);
  });

  it('refuses bad participant input before any SQL, writing nothing', async () => {
    const bad: unknown[] = [
      { userId: patient, conversationId, participantId: stranger, role: 'owner' },
      { userId: patient, conversationId, participantId: 'not-a-uuid', role: 'member' },
      { userId: patient, conversationId, participantId: patient, role: 'member' },
      { userId: patient, conversationId, participantId: stranger, role: 'member', extra: 1 },
    ];
    for (const input of bad) {
      await expect(
        f.cb.chat.addParticipant(input as Parameters<typeof f.cb.chat.addParticipant>[0]),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(
      f.cb.chat.addParticipant({
        userId: patient,
        conversationId,
        participantId: '00000000-0000-4000-8000-000000000009',
        role: 'member',
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', resource: 'user' });
    await expect(
      f.cb.chat.addParticipant({
        userId: patient,
        conversationId: '00000000-0000-4000-8000-000000000009',
        participantId: stranger,
        role: 'member',
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await participantCount()).toBe(3);
  });

  it('removes participants: the owner removes, a participant leaves, the owner stays', async () => {
    const guest = await f.user();
    await f.cb.chat.addParticipant({ userId: patient, conversationId, participantId: guest, role: 'viewer' });
    await f.cb.chat.history({ userId: guest, conversationId });
    expect(await f.cb.chat.removeParticipant({ userId: patient, conversationId, participantId: guest })).toBe(
      true,
    );
    await expect(f.cb.chat.history({ userId: guest, conversationId })).rejects.toBeInstanceOf(ForbiddenError);
    expect(await f.cb.chat.removeParticipant({ userId: patient, conversationId, participantId: guest })).toBe(
      false,
    );
    await expect(
      f.cb.chat.removeParticipant({ userId: patient, conversationId, participantId: patient }),
    ).rejects.toBeInstanceOf(ValidationError);
    const leaver = await f.user();
    await f.cb.chat.addParticipant({
      userId: patient,
      conversationId,
      participantId: leaver,
      role: 'member',
    });
    expect(await f.cb.chat.removeParticipant({ userId: leaver, conversationId, participantId: leaver })).toBe(
      true,
    );
    await expect(
      f.cb.chat.append({ userId: leaver, conversationId, role: 'user', content: 'x' }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    // A role change: the viewer becomes a member and may write.
    await f.cb.chat.addParticipant({
      userId: patient,
      conversationId,
      participantId: auditor,
      role: 'member',
    });
    const written = await f.cb.chat.append({
      userId: auditor,
      conversationId,
      role: 'user',
      content: 'noted',
    });
    expect(written.authorUserId).toBe(auditor);
    await f.cb.chat.addParticipant({
      userId: patient,
      conversationId,
      participantId: auditor,
      role: 'viewer',
    });
  });

  it('erasing a participant removes their participation; their messages stay in the thread', async () => {
    const locum = await f.user();
    await f.cb.chat.addParticipant({ userId: patient, conversationId, participantId: locum, role: 'member' });
    await f.cb.chat.append({ userId: locum, conversationId, role: 'user', content: 'locum note' });
    await f.cb.users.erase(locum);
    const participants = await f.cb.chat.listParticipants({ userId: patient, conversationId });
    expect(participants.map((p) => p.userId)).not.toContain(locum);
    const page = await f.cb.chat.history({ userId: patient, conversationId, order: 'desc', limit: 1 });
    expect(page.items.map((m) => [m.content, m.authorUserId])).toEqual([['locum note', locum]]);
  });
});
