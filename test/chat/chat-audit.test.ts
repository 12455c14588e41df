import { createCarebase } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

/**
 * Chat writes under withActor are audited without content: conversation-level events always;
 * appends only with `audit.chatWrites: 'messages'`, in the append's transaction.
 */
let f: ChatFixture;
let patient: string;
let clinician: string;

const SECRET_TITLE = 'Ms. Doe: biopsy results';
const SECRET_CONTENT = 'the lump is malignant';
const SECRET_METADATA = 'mrn-4471';

beforeAll(async () => {
  f = await chatFixture();
  patient = await f.user();
  clinician = await f.user();
});

afterAll(async () => {
  await f?.close();
});

/** Every audit entry on `conversationId`, oldest first. */
async function entries(resourceId: string) {
  const { items } = await f.cb.audit.query({ resourceId, limit: 500 });
  return [...items].reverse();
}

function contentFree(rows: unknown): void {
  const text = JSON.stringify(rows);
  for (const secret of [SECRET_TITLE, SECRET_CONTENT, SECRET_METADATA]) expect(text).not.toContain(secret);
}

describe('chat audit', () => {
  it('audits conversation creation, participants, updates, clears and deletion, content-free', async () => {
    const asPatient = f.cb.withActor({ userId: patient, requestId: 'req-audit-1' });
    const asClinician = f.cb.withActor({ userId: clinician });
    const { id } = await asPatient.chat.createConversation({ userId: patient, title: SECRET_TITLE });
    await asPatient.chat.addParticipant({
      userId: patient,
      conversationId: id,
      participantId: clinician,
      role: 'viewer',
    });
    await asPatient.chat.addParticipant({
      userId: patient,
      conversationId: id,
      participantId: clinician,
      role: 'member',
    });
    // Same role again: nothing changes, nothing is audited.
    await asPatient.chat.addParticipant({
      userId: patient,
      conversationId: id,
      participantId: clinician,
      role: 'member',
    });
    await asClinician.chat.append({
      userId: clinician,
      conversationId: id,
      role: 'user',
      content: SECRET_CONTENT,
    });
    await asClinician.chat.updateConversation(id, {
      userId: clinician,
      status: 'escalated',
      title: SECRET_TITLE.toUpperCase(),
      metadata: { mrn: SECRET_METADATA },
    });
    await asClinician.chat.updateConversation(id, { userId: clinician, archived: true, retentionDays: 30 });
    await asClinician.chat.renameConversation({ userId: clinician, conversationId: id, title: SECRET_TITLE });
    await asClinician.chat.removeParticipant({
      userId: clinician,
      conversationId: id,
      participantId: clinician,
    });
    await asPatient.chat.clear({ userId: patient, conversationId: id });
    await asPatient.chat.deleteConversation({ userId: patient, conversationId: id });

    const rows = await entries(id);
    expect(rows.map((row) => [row.action, row.actorUserId])).toEqual([
      ['chat.conversation_create', patient],
      ['chat.participant_add', patient],
      ['chat.participant_role', patient],
      ['chat.conversation_update', clinician],
      ['chat.conversation_update', clinician],
      ['chat.conversation_rename', clinician],
      ['chat.participant_remove', clinician],
      ['chat.clear', patient],
      ['chat.conversation_delete', patient],
    ]);
    expect(rows.every((row) => row.subjectId === patient)).toBe(true);
    expect(rows[0]?.requestId).toBe('req-audit-1');
    expect(rows[2]?.changes).toEqual({ participantId: clinician, role: { from: 'viewer', to: 'member' } });
    expect(rows[3]?.changes).toEqual({
      fields: ['title', 'status', 'metadata'],
      version: { from: 1, to: 2 },
      status: { from: 'open', to: 'escalated' },
    });
    expect(rows[4]?.changes).toEqual({
      fields: ['archived', 'retentionDays'],
      version: { from: 2, to: 3 },
      archived: { from: false, to: true },
      retentionDays: { from: null, to: 30 },
    });
    expect(rows[6]?.changes).toEqual({ participantId: clinician, role: { from: 'member', to: null } });
    contentFree(rows);
  });

  it('audits the default conversation an append creates, once under concurrent first appends', async () => {
    const user = await f.user();
    const scoped = f.cb.withActor({ userId: user });
    const messages = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        scoped.chat.append({ userId: user, role: 'user', content: `m${i}` }),
      ),
    );
    const conversationId = messages[0]?.conversationId as string;
    const rows = await entries(conversationId);
    expect(rows.map((row) => [row.action, row.actorUserId, row.metadata])).toEqual([
      ['chat.conversation_create', user, { default: true }],
    ]);
    // appendMany creates the defaults of several users, each audited once.
    const [a, b] = [await f.user(), await f.user()];
    const batch = await f.cb.chat.appendMany([
      { userId: a, role: 'user', content: 'first of a' },
      { userId: b, role: 'user', content: 'first of b' },
      { userId: a, role: 'assistant', content: 'second of a' },
    ]);
    for (const message of batch) {
      expect((await entries(message.conversationId)).map((row) => row.action)).toEqual([
        'chat.conversation_create',
      ]);
    }
  });

  it("records a participant's reads of someone else's conversation as chat.access, not the owner's own", async () => {
    const owner = await f.user();
    const reader = await f.user();
    const { id } = await f.cb.chat.createConversation({ userId: owner });
    await f.cb.chat.addParticipant({
      userId: owner,
      conversationId: id,
      participantId: reader,
      role: 'viewer',
    });
    await f.cb.chat.append({ userId: owner, conversationId: id, role: 'user', content: SECRET_CONTENT });
    const asOwner = f.cb.withActor({ userId: owner });
    await asOwner.chat.history({ userId: owner, conversationId: id });
    const asReader = f.cb.withActor({ userId: reader });
    await asReader.chat.history({ userId: reader, conversationId: id });
    await asReader.chat.latest({ userId: reader, conversationId: id, n: 1 });
    await asReader.chat.search({ userId: reader, query: 'malignant' });
    const { items } = await f.cb.audit.query({ action: 'chat.access', userId: reader, limit: 10 });
    expect(items.map((entry) => [entry.subjectId, entry.description]).reverse()).toEqual([
      [owner, 'chat history read'],
      [owner, 'chat history read'],
      [owner, 'chat messages searched'],
    ]);
    expect((await f.cb.audit.query({ action: 'chat.access', userId: owner, limit: 10 })).items).toEqual([]);
    contentFree(items);
  });

  it('audits no append by default', async () => {
    const { id } = await f.cb.chat.createConversation({ userId: patient });
    await f.cb
      .withActor({ userId: patient })
      .chat.append({ userId: patient, conversationId: id, role: 'user', content: 'x' });
    expect((await entries(id)).map((row) => row.action)).toEqual(['chat.conversation_create']);
  });

  it("with audit.chatWrites: 'messages', audits every append in its transaction, content-free", async () => {
    await using cb = createCarebase({
      connectionString: f.database.url,
      schema: f.cb.config.schema,
      audit: { chatWrites: 'messages' },
    });
    const { id } = await cb.chat.createConversation({ userId: patient });
    const other = await cb.chat.createConversation({ userId: patient });
    await cb.chat.addParticipant({
      userId: patient,
      conversationId: id,
      participantId: clinician,
      role: 'member',
    });
    const scoped = cb.withActor({ userId: clinician });
    const one = await scoped.chat.append({
      userId: clinician,
      conversationId: id,
      role: 'user',
      content: SECRET_CONTENT,
    });
    const many = await cb.withActor({ userId: patient }).chat.appendMany([
      { userId: patient, conversationId: id, role: 'user', content: SECRET_CONTENT },
      { userId: patient, conversationId: id, role: 'assistant', content: SECRET_CONTENT },
      { userId: patient, conversationId: other.id, role: 'user', content: SECRET_CONTENT },
    ]);
    const rows = (await entries(id)).filter((row) => row.action === 'chat.message_append');
    expect(rows.map((row) => [row.actorUserId, row.subjectId, row.metadata])).toEqual([
      [
        clinician,
        patient,
        { messages: 1, messageIds: [one.id], roles: { user: 1 }, authorUserIds: [clinician] },
      ],
      [
        patient,
        patient,
        {
          messages: 2,
          messageIds: [many[0]?.id, many[1]?.id],
          roles: { user: 1, assistant: 1 },
          authorUserIds: [patient],
        },
      ],
    ]);
    expect((await entries(other.id)).map((row) => row.action)).toEqual([
      'chat.conversation_create',
      'chat.message_append',
    ]);
    contentFree(rows);
    // A refused append writes neither the message nor its audit entry.
    const stranger = await f.user();
    await expect(
      cb
        .withActor({ userId: stranger })
        .chat.append({ userId: stranger, conversationId: id, role: 'user', content: 'x' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { items } = await cb.audit.query({ userId: stranger, limit: 10 });
    expect(items).toEqual([]);
  });
});
