/**
 * Demo accounts for a first run: an admin and a nurse with generated one-time passwords (never
 * hard-coded), and some chat history for the nurse so the history has pages to scroll through.
 */
import { randomBytes } from 'node:crypto';
import { type Carebase, isCarebaseError } from 'carebase';
import { assistantReply } from './assistant.ts';

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
];

/** A new random password: 16 base64url characters (96 bits). */
export function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Creates `demo-admin` and `demo-nurse` (or resets their passwords when they exist, e.g. on a
 * DATABASE_URL reused between runs) and gives a new nurse `pairs` questions with answers.
 */
export async function seedDemo(cb: Carebase, pairs = 36): Promise<DemoAccount[]> {
  const scope = cb.withActor({ type: 'system', requestId: 'chat-app-seed' });
  const accounts: DemoAccount[] = [];
  for (const { username, role, displayName } of [
    { username: 'demo-admin', role: 'admin', displayName: 'Demo Admin' },
    { username: 'demo-nurse', role: 'nurse', displayName: 'Demo Nurse' },
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
      { userId, role: 'assistant' as const, content: reply.content, metadata: { rule: reply.rule } },
    ];
  }).flat();
  await cb.chat.appendMany(messages);
}
