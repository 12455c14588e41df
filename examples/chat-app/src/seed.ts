/**
 * Demo accounts for a first run: an admin, a nurse and a patient with generated one-time passwords
 * (never hard-coded); some chat history for the nurse so the history has pages to scroll through,
 * and a conversation the patient shares with the nurse (the clinician reads it and replies).
 */
import { randomBytes } from 'node:crypto';
import { type Carebase, isCarebaseError } from 'carebase';
import { assistantReply, assistantUsage } from './assistant.ts';
import { replyParts } from './parts.ts';

/** A demo account and its one-time password, to print once. */
export interface DemoAccount {
  readonly username: string;
  readonly role: string;
  readonly password: string;
  /** False when the account existed already (its password was reset). */
  readonly created: boolean;
}

const QUESTIONS = [
  'How often should I reposition a patient with a Braden score of 12?',
  'What should I check after a patient has a fall?',
  'When do I need to do hand hygiene during a dressing change?',
  'Who do I ask about a medication dose I am unsure of?',
  'Any tips for preventing pressure sores on the heels?',
  'What is the handover format on this ward?',
  'What is the maximum dose of paracetamol in 24 hours?',
];

/** A new random password: 16 base64url characters (96 bits). */
export function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}

/** The title of the conversation the demo patient shares with the nurse. */
export const SHARED_TITLE = 'My wound dressing at home';

/**
 * Creates `demo-admin`, `demo-nurse` and `demo-patient` (or resets their passwords when they
 * exist, e.g. on a DATABASE_URL reused between runs), gives a new nurse `pairs` questions with
 * answers, and a new patient a conversation shared with the nurse.
 */
export async function seedDemo(cb: Carebase, pairs = 36): Promise<DemoAccount[]> {
  const scope = cb.withActor({ type: 'system', requestId: 'chat-app-seed' });
  const accounts: DemoAccount[] = [];
  for (const { username, role, displayName } of [
    { username: 'demo-admin', role: 'admin', displayName: 'Demo Admin' },
    { username: 'demo-nurse', role: 'nurse', displayName: 'Demo Nurse' },
    { username: 'demo-patient', role: 'patient', displayName: 'Demo Patient' },
  ]) {
    const password = generatePassword();
    try {
      const user = await scope.users.create({
        username,
        email: `${username}@example.org`,
        password,
        role,
        displayName,
      });
      if (role === 'nurse') await seedHistory(cb, user.id, pairs);
      if (role === 'patient') {
        const nurse = await scope.users.findByUsername('demo-nurse');
        if (nurse !== undefined) await seedSharedConversation(cb, user.id, nurse.id);
      }
      accounts.push({ username, role, password, created: true });
    } catch (error) {
      if (!isCarebaseError(error, 'CONFLICT')) throw error;
      const existing = await scope.users.findByUsername(username);
      if (existing === undefined) throw error;
      // No one sets a user's password directly (ASVS 6.4.6): issue a reset token and complete it.
      const { token } = await scope.users.passwordReset.issue(existing.id, { reason: 'demo seed' });
      const reset = await scope.users.passwordReset.complete({ token, newPassword: password });
      if (!reset.ok) throw new Error(`demo password reset refused: ${reset.reason}`);
      if (existing.status === 'disabled') await scope.users.reactivate(existing.id);
      if (existing.lockedUntil !== null) await scope.users.unlock(existing.id);
      accounts.push({ username, role: existing.role, password, created: false });
    }
  }
  return accounts;
}

/** `pairs` question/answer pairs in the user's default conversation, oldest first. */
async function seedHistory(cb: Carebase, userId: string, pairs: number): Promise<void> {
  const messages = Array.from({ length: pairs }, (_, index) => {
    const question = `Bed ${index + 1}: ${QUESTIONS[index % QUESTIONS.length]}`;
    const reply = assistantReply(question);
    return [
      { userId, role: 'user' as const, content: question },
      {
        userId,
        role: 'assistant' as const,
        content: reply.content,
        metadata: { rule: reply.rule },
        ...replyParts(reply),
        usage: assistantUsage(question, reply.content, 3),
      },
    ];
  }).flat();
  await cb.chat.appendMany(messages);
}

/**
 * The patient's conversation, shared with the nurse as a member: the patient's question, the
 * assistant's answer, and the nurse's reply (written as the nurse: its author is the nurse).
 */
async function seedSharedConversation(cb: Carebase, patientId: string, nurseId: string): Promise<void> {
  const scope = cb.withActor({ type: 'system', requestId: 'chat-app-seed' });
  const conversation = await scope.chat.createConversation({ userId: patientId, title: SHARED_TITLE });
  await scope.chat.addParticipant({
    userId: patientId,
    conversationId: conversation.id,
    participantId: nurseId,
    role: 'member',
  });
  const question = 'The dressing on my leg is wet at the edges. How often should it be changed?';
  const reply = assistantReply(question);
  const conversationId = conversation.id;
  await scope.chat.appendMany([
    { userId: patientId, conversationId, role: 'user', content: question },
    {
      userId: patientId,
      conversationId,
      role: 'assistant',
      content: reply.content,
      metadata: { rule: reply.rule },
      ...replyParts(reply),
      usage: assistantUsage(question, reply.content, 3),
    },
    {
      userId: nurseId,
      conversationId,
      role: 'user',
      content:
        'Hello, this is your ward nurse. A dressing that is wet at the edges should be changed today: ' +
        'please come to the clinic this afternoon, or call the ward if the wound looks red or smells.',
    },
  ]);
}
