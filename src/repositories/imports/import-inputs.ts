import { z } from 'zod';
import { jsonObjectSchema } from '../../validation/json.js';
import { StorableText } from '../../validation/text.js';
import { ChatRoleSchema } from '../chat/chat-inputs.js';
import { DisplayNameInput, EmailInput, ImportedPasswordHash, UsernameInput } from '../users/user-inputs.js';

/**
 * The system rows come from: a short name the host chooses, e.g. `mongo-prod`.
 *
 * @example
 * ```ts
 * import { ImportSource } from 'carebase';
 * ImportSource.parse('mongo-prod');
 * ```
 */
export const ImportSource = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'must be 1-100 letters, digits, _ . : -');

/**
 * A row's id in its source system (an ObjectId's hex, a number as text, ...): 1-200 characters.
 *
 * @example
 * ```ts
 * import { ExternalId } from 'carebase';
 * ExternalId.parse('65f1c0ffee0000000000000a');
 * ```
 */
export const ExternalId = StorableText.min(1).max(200);

/**
 * A time as a `Date` or an ISO 8601 string with a time zone (`Z` or an offset).
 *
 * @example
 * ```ts
 * import { ImportTime } from 'carebase';
 * ImportTime.parse('2024-05-01T08:00:00+02:00'); // a Date
 * ```
 */
export const ImportTime = z.union([
  z.date(),
  z.iso.datetime({ offset: true }).transform((text) => new Date(text)),
]);

const MAX_ROWS = 200_000;
/**
 * The rows of one call: at most 200 000 (one transaction each; call again for more). Each row is
 * validated on its own by the importer, so one bad row is refused in the report, not thrown.
 */
const rows = z.array(z.unknown()).max(MAX_ROWS);

/**
 * One user to import. Without `passwordHash` the account gets no usable password (set one with
 * `changePassword`, or log in through SSO and `recordLogin`).
 *
 * @example
 * ```ts
 * import { ImportUserRow } from 'carebase';
 * ImportUserRow.parse({ externalId: '65f1c0ffee', username: 'ana', email: 'ana@example.org', role: 'nurse' });
 * ```
 */
export const ImportUserRow = z.strictObject({
  externalId: ExternalId,
  username: UsernameInput,
  email: EmailInput,
  role: z.string().min(1).max(32),
  displayName: DisplayNameInput.optional(),
  passwordHash: ImportedPasswordHash.optional(),
  /** @default 'active' */
  status: z.enum(['active', 'disabled']).optional(),
  /** @default now */
  createdAt: ImportTime.optional(),
  lastLoginAt: ImportTime.optional(),
});
/** {@link ImportUserRow} as a caller writes it. */
export type ImportUserRow = z.input<typeof ImportUserRow>;

/**
 * One conversation to import, owned by a user named by its original id (`userExternalId`, imported
 * from the same source) or by carebase id (`userId`).
 *
 * @example
 * ```ts
 * import { ImportConversationRow } from 'carebase';
 * ImportConversationRow.parse({ externalId: 'c1', userExternalId: 'u1', title: 'Night shift' });
 * ```
 */
export const ImportConversationRow = z
  .strictObject({
    externalId: ExternalId,
    userExternalId: ExternalId.optional(),
    userId: z.uuid().optional(),
    title: z.string().max(500).optional(),
    metadata: jsonObjectSchema().optional(),
    /** @default now */
    createdAt: ImportTime.optional(),
  })
  .refine((row) => (row.userExternalId === undefined) !== (row.userId === undefined), {
    message: 'give exactly one of userExternalId and userId',
    path: ['userExternalId'],
  });
/** {@link ImportConversationRow} as a caller writes it. */
export type ImportConversationRow = z.input<typeof ImportConversationRow>;

/**
 * One message to import, in a conversation named by its original id (`conversationExternalId`)
 * or by carebase id (`conversationId`). Messages keep their `createdAt`; those with equal times
 * keep the order of the call.
 *
 * @example
 * ```ts
 * import { ImportMessageRow } from 'carebase';
 * ImportMessageRow.parse({ externalId: 'm1', conversationExternalId: 'c1', role: 'user', content: 'hi', createdAt: new Date() });
 * ```
 */
export const ImportMessageRow = z
  .strictObject({
    externalId: ExternalId,
    conversationExternalId: ExternalId.optional(),
    conversationId: z.uuid().optional(),
    role: ChatRoleSchema,
    content: StorableText,
    metadata: jsonObjectSchema().optional(),
    createdAt: ImportTime,
  })
  .refine((row) => (row.conversationExternalId === undefined) !== (row.conversationId === undefined), {
    message: 'give exactly one of conversationExternalId and conversationId',
    path: ['conversationExternalId'],
  });
/** {@link ImportMessageRow} as a caller writes it. */
export type ImportMessageRow = z.input<typeof ImportMessageRow>;

/**
 * One audit entry to import: the fields of `cb.audit.log()` plus its original id and time; the
 * actor is named by `userExternalId` (imported from the same source) or `userId`.
 *
 * @example
 * ```ts
 * import { ImportAuditRow } from 'carebase';
 * ImportAuditRow.parse({ externalId: 'log-1', occurredAt: new Date(), action: 'user.login', resourceType: 'user' });
 * ```
 */
export const ImportAuditRow = z.strictObject({
  externalId: ExternalId,
  occurredAt: ImportTime,
  action: z
    .string()
    .max(100)
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/, 'must be a dotted lower-case verb like user.login'),
  resourceType: z.string().min(1).max(100),
  resourceId: z.string().min(1).max(200).optional(),
  subjectId: z.string().min(1).max(200).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  outcomeDetail: z.string().max(1000).optional(),
  userExternalId: ExternalId.optional(),
  userId: z.uuid().optional(),
  actorType: z.enum(['user', 'system', 'service']).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  userAgent: z.string().max(512).optional(),
  requestId: z.string().min(1).max(128).optional(),
  changes: jsonObjectSchema().optional(),
  metadata: jsonObjectSchema().optional(),
});
/** {@link ImportAuditRow} as a caller writes it. */
export type ImportAuditRow = z.input<typeof ImportAuditRow>;

/**
 * Input of `cb.imports.users()`: rows are checked one by one (a bad row is refused in the report,
 * never thrown); the call itself must be well formed.
 *
 * @example
 * ```ts
 * import { ImportUsersInput } from 'carebase';
 * ImportUsersInput.parse({ source: 'mongo', users: [] });
 * ```
 */
export const ImportUsersInput = z.strictObject({ source: ImportSource, users: rows });
/** {@link ImportUsersInput} as a caller writes it. */
export type ImportUsersInput = { readonly source: string; readonly users: readonly ImportUserRow[] };

/**
 * Input of `cb.imports.conversations()`.
 *
 * @example
 * ```ts
 * import { ImportConversationsInput } from 'carebase';
 * ImportConversationsInput.parse({ source: 'mongo', conversations: [] });
 * ```
 */
export const ImportConversationsInput = z.strictObject({
  source: ImportSource,
  conversations: rows,
});
/** {@link ImportConversationsInput} as a caller writes it. */
export type ImportConversationsInput = {
  readonly source: string;
  readonly conversations: readonly ImportConversationRow[];
};

/**
 * Input of `cb.imports.messages()`.
 *
 * @example
 * ```ts
 * import { ImportMessagesInput } from 'carebase';
 * ImportMessagesInput.parse({ source: 'mongo', messages: [] });
 * ```
 */
export const ImportMessagesInput = z.strictObject({ source: ImportSource, messages: rows });
/** {@link ImportMessagesInput} as a caller writes it. */
export type ImportMessagesInput = { readonly source: string; readonly messages: readonly ImportMessageRow[] };

/**
 * Input of `cb.imports.auditEntries()`.
 *
 * @example
 * ```ts
 * import { ImportAuditInput } from 'carebase';
 * ImportAuditInput.parse({ source: 'mongo', entries: [] });
 * ```
 */
export const ImportAuditInput = z.strictObject({ source: ImportSource, entries: rows });
/** {@link ImportAuditInput} as a caller writes it. */
export type ImportAuditInput = { readonly source: string; readonly entries: readonly ImportAuditRow[] };
