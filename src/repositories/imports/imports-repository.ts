import { UnsupportedOperationError } from '../../errors/errors.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import { importAuditEntries } from './import-audit.js';
import { importConversations } from './import-conversations.js';
import {
  type ImportAuditInput,
  ImportAuditInputSchema,
  type ImportConversationsInput,
  ImportConversationsInputSchema,
  type ImportMessagesInput,
  ImportMessagesInputSchema,
  type ImportUsersInput,
  ImportUsersInputSchema,
} from './import-inputs.js';
import { importMessages } from './import-messages.js';
import type { ImportReport } from './import-report.js';
import { importUsers } from './import-users.js';

/**
 * Batch imports from another system that keep everything: original ids (as `externalId`, unique
 * per `source`), original timestamps, authors and password hashes. Each call is one transaction
 * (inside `cb.transaction()` it joins the caller's) and returns a reconciliation report that adds
 * up exactly (`read = inserted + alreadyPresent + refused.length + pastRetention`). Reruns are
 * idempotent: the same rows again insert nothing and are all `alreadyPresent`.
 *
 * Import in dependency order: users, then conversations (naming users by `userExternalId`), then
 * messages (naming conversations by `conversationExternalId`) and audit entries. A row that cannot
 * be imported (invalid, unknown owner, a username taken by another account) is refused in the
 * report with its path and reason, never thrown; only a malformed call throws `ValidationError`.
 * At most 200 000 rows per call: call again for more.
 *
 * Concurrency: two concurrent calls with the same rows insert each row once.
 *
 * @example
 * ```ts
 * const users = await cb.imports.users({ source: 'mongo', users: [{ externalId: '65f1', username: 'ana', email: 'ana@example.org', role: 'nurse' }] });
 * const conversations = await cb.imports.conversations({ source: 'mongo', conversations: [{ externalId: 'c1', userExternalId: '65f1' }] });
 * const messages = await cb.imports.messages({
 *   source: 'mongo',
 *   messages: [{ externalId: 'm1', conversationExternalId: 'c1', role: 'user', content: 'Hi', createdAt: new Date('2024-05-01T08:00:00Z') }],
 * });
 * console.log(users.inserted, conversations.inserted, messages.inserted, messages.refused);
 * ```
 */
export class ImportsRepository {
  readonly #ctx: RepositoryContext;

  /** @internal Use `cb.imports`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Imports user accounts with their password hashes (see `cb.users.create`'s `passwordHash`),
   * status, `createdAt` and `lastLoginAt`. A username or email that differs only in case from
   * another account's (in the database or earlier in the call) is refused, never merged. Audited
   * as `import.users` (counts only).
   *
   * @example
   * ```ts
   * await cb.imports.users({
   *   source: 'mongo',
   *   users: [{ externalId: '65f1', username: 'bob', email: 'bob@example.org', role: 'nurse', passwordHash: { algorithm: 'bcrypt', hash: '$2b$10$abcdefghijklmnopqrstuuN2ID9u1Ogn6Z6Lqa8v4nVuoS5nq1vbi' } }],
   * });
   * ```
   */
  async users(input: ImportUsersInput): Promise<ImportReport> {
    const parsed = parseInput(ImportUsersInputSchema, input, 'user import', { sweep: false });
    return importUsers(this.#ctx, parsed);
  }

  /**
   * Imports conversations, each owned by a user named by `userExternalId` or `userId`. Audited as
   * `import.conversations`.
   *
   * @example
   * ```ts
   * await cb.imports.conversations({ source: 'mongo', conversations: [{ externalId: 'c1', userExternalId: '65f1', title: 'Night shift', createdAt: '2024-05-01T08:00:00Z' }] });
   * ```
   */
  async conversations(input: ImportConversationsInput): Promise<ImportReport> {
    refuseWhenEncrypted(this.#ctx, 'imports.conversations');
    const parsed = parseInput(ImportConversationsInputSchema, input, 'conversation import', { sweep: false });
    return importConversations(this.#ctx, parsed);
  }

  /**
   * Imports messages with their timestamps, in order, through a binary COPY into a staging table
   * (COPY speed). Content over `chat.maxMessageBytes`, NUL characters and lone surrogates are
   * refused per row. Audited as `import.messages` (counts only, never content).
   *
   * @example
   * ```ts
   * await cb.imports.messages({
   *   source: 'mongo',
   *   messages: [{ externalId: 'm1', conversationExternalId: 'c1', role: 'assistant', content: 'Check the dose.', createdAt: new Date() }],
   * });
   * ```
   */
  async messages(input: ImportMessagesInput): Promise<ImportReport> {
    refuseWhenEncrypted(this.#ctx, 'imports.messages');
    const parsed = parseInput(ImportMessagesInputSchema, input, 'message import', { sweep: false });
    return importMessages(this.#ctx, parsed);
  }

  /**
   * Imports audit entries with their original times; entries past the retention period are counted
   * in `pastRetention` and not imported. Imported entries are hashed and chained like any other
   * (`cb.audit.verify()` covers them). Audited as `import.audit`.
   *
   * @example
   * ```ts
   * const report = await cb.imports.auditEntries({
   *   source: 'mongo',
   *   entries: [{ externalId: 'log-1', occurredAt: '2024-05-01T08:00:00Z', action: 'user.login', resourceType: 'user', userExternalId: '65f1' }],
   * });
   * console.log(`${report.pastRetention} entries past retention, not imported`);
   * ```
   */
  async auditEntries(input: ImportAuditInput): Promise<ImportReport> {
    const parsed = parseInput(ImportAuditInputSchema, input, 'audit import', { sweep: false });
    return importAuditEntries(this.#ctx, parsed);
  }
}

/**
 * The bulk imports COPY clear rows: with encryption on they refuse (`UnsupportedOperationError`)
 * rather than store plaintext. Import first, then run `cb.encryption.encryptExisting()`.
 */
function refuseWhenEncrypted(ctx: RepositoryContext, operation: string): void {
  if (ctx.config.encryption !== undefined) {
    throw new UnsupportedOperationError(
      operation,
      'encryption is on: import with encryption off, then run encryption.encryptExisting()',
    );
  }
}
