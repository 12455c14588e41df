import { z } from 'zod';
import type { ChatRole } from '../../schema/chat.js';
import { jsonObjectSchema } from '../../validation/json.js';
import { StorableTextSchema } from '../../validation/text.js';
import { ChatRoleSchema } from '../chat/chat-inputs.js';
import {
  DisplayNameSchema,
  EmailSchema,
  type ImportedPasswordHash,
  ImportedPasswordHashSchema,
  UsernameSchema,
} from '../users/user-inputs.js';

/**
 * The system rows come from: a short name the host chooses, e.g. `mongo-prod`.
 *
 * @example
 * ```ts
 * import { ImportSourceSchema } from 'carebase/schemas';
 * ImportSourceSchema.parse('mongo-prod');
 * ```
 */
export const ImportSourceSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'must be 1-100 letters, digits, _ . : -');

/**
 * A row's id in its source system (an ObjectId's hex, a number as text, ...): 1-200 characters.
 *
 * @example
 * ```ts
 * import { ExternalIdSchema } from 'carebase/schemas';
 * ExternalIdSchema.parse('65f1c0ffee0000000000000a');
 * ```
 */
export const ExternalIdSchema = StorableTextSchema.min(1).max(200);

/**
 * A time as a `Date` or an ISO 8601 string with a time zone (`Z` or an offset).
 *
 * @example
 * ```ts
 * import { ImportTimeSchema } from 'carebase/schemas';
 * ImportTimeSchema.parse('2024-05-01T08:00:00+02:00'); // a Date
 * ```
 */
export const ImportTimeSchema = z.union([
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
 * import { ImportUserRowSchema } from 'carebase/schemas';
 * ImportUserRowSchema.parse({ externalId: '65f1c0ffee', username: 'ana', email: 'ana@example.org', role: 'nurse' });
 * ```
 */
export const ImportUserRowSchema = z.strictObject({
  externalId: ExternalIdSchema,
  username: UsernameSchema,
  email: EmailSchema,
  role: z.string().min(1).max(32),
  displayName: DisplayNameSchema.optional(),
  passwordHash: ImportedPasswordHashSchema.optional(),
  /** @default 'active' */
  status: z.enum(['active', 'disabled']).optional(),
  /** @default now */
  createdAt: ImportTimeSchema.optional(),
  lastLoginAt: ImportTimeSchema.optional(),
});
/**
 * One user to import (`cb.imports.users()`): its original id, profile and optional existing password hash. Validated by `ImportUserRowSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ImportUserRow } from 'carebase';
 * const row: ImportUserRow = { externalId: '65f1c0ffee', username: 'ana', email: 'ana@example.org', role: 'nurse' };
 * const report = await cb.imports.users({ source: 'mongo-prod', users: [row] });
 * ```
 */
export interface ImportUserRow {
  /** The user's id in the source system (unique per source). */
  readonly externalId: string;
  readonly username: string;
  readonly email: string;
  readonly role: string;
  readonly displayName?: string | undefined;
  /** An existing hash; without one the account gets an unusable password. */
  readonly passwordHash?: ImportedPasswordHash | undefined;
  /** @default 'active' */
  readonly status?: 'active' | 'disabled' | undefined;
  /** A `Date` or an ISO 8601 string with a time zone. @default now */
  readonly createdAt?: Date | string | undefined;
  /** A `Date` or an ISO 8601 string with a time zone. */
  readonly lastLoginAt?: Date | string | undefined;
}

/**
 * One conversation to import, owned by a user named by its original id (`userExternalId`, imported
 * from the same source) or by carebase id (`userId`).
 *
 * @example
 * ```ts
 * import { ImportConversationRowSchema } from 'carebase/schemas';
 * ImportConversationRowSchema.parse({ externalId: 'c1', userExternalId: 'u1', title: 'Night shift' });
 * ```
 */
export const ImportConversationRowSchema = z
  .strictObject({
    externalId: ExternalIdSchema,
    userExternalId: ExternalIdSchema.optional(),
    userId: z.uuid().optional(),
    title: z.string().max(500).optional(),
    metadata: jsonObjectSchema().optional(),
    /** @default now */
    createdAt: ImportTimeSchema.optional(),
  })
  .refine((row) => (row.userExternalId === undefined) !== (row.userId === undefined), {
    message: 'give exactly one of userExternalId and userId',
    path: ['userExternalId'],
  });
/**
 * One conversation to import: give exactly one of `userExternalId` and `userId`. Validated by `ImportConversationRowSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ImportConversationRow } from 'carebase';
 * const row: ImportConversationRow = { externalId: 'c1', userExternalId: '65f1c0ffee', title: 'Night shift' };
 * await cb.imports.conversations({ source: 'mongo-prod', conversations: [row] });
 * ```
 */
export interface ImportConversationRow {
  readonly externalId: string;
  /** The owner's original id (imported from the same source). */
  readonly userExternalId?: string | undefined;
  /** The owner's carebase id. */
  readonly userId?: string | undefined;
  readonly title?: string | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  /** A `Date` or an ISO 8601 string with a time zone. @default now */
  readonly createdAt?: Date | string | undefined;
}

/**
 * One message to import, in a conversation named by its original id (`conversationExternalId`)
 * or by carebase id (`conversationId`). Messages keep their `createdAt`; those with equal times
 * keep the order of the call.
 *
 * @example
 * ```ts
 * import { ImportMessageRowSchema } from 'carebase/schemas';
 * ImportMessageRowSchema.parse({ externalId: 'm1', conversationExternalId: 'c1', role: 'user', content: 'hi', createdAt: new Date() });
 * ```
 */
export const ImportMessageRowSchema = z
  .strictObject({
    externalId: ExternalIdSchema,
    conversationExternalId: ExternalIdSchema.optional(),
    conversationId: z.uuid().optional(),
    role: ChatRoleSchema,
    content: StorableTextSchema,
    metadata: jsonObjectSchema().optional(),
    createdAt: ImportTimeSchema,
  })
  .refine((row) => (row.conversationExternalId === undefined) !== (row.conversationId === undefined), {
    message: 'give exactly one of conversationExternalId and conversationId',
    path: ['conversationExternalId'],
  });
/**
 * One message to import: give exactly one of `conversationExternalId` and `conversationId`. Validated by `ImportMessageRowSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ImportMessageRow } from 'carebase';
 * const row: ImportMessageRow = { externalId: 'm1', conversationExternalId: 'c1', role: 'user', content: 'hi', createdAt: '2024-05-01T08:00:00Z' };
 * await cb.imports.messages({ source: 'mongo-prod', messages: [row] });
 * ```
 */
export interface ImportMessageRow {
  readonly externalId: string;
  /** The conversation's original id (imported from the same source). */
  readonly conversationExternalId?: string | undefined;
  /** The conversation's carebase id. */
  readonly conversationId?: string | undefined;
  readonly role: ChatRole;
  readonly content: string;
  readonly metadata?: Record<string, unknown> | undefined;
  /** A `Date` or an ISO 8601 string with a time zone. */
  readonly createdAt: Date | string;
}

/**
 * One audit entry to import: the fields of `cb.audit.log()` plus its original id and time; the
 * actor is named by `userExternalId` (imported from the same source) or `userId`.
 *
 * @example
 * ```ts
 * import { ImportAuditRowSchema } from 'carebase/schemas';
 * ImportAuditRowSchema.parse({ externalId: 'log-1', occurredAt: new Date(), action: 'user.login', resourceType: 'user' });
 * ```
 */
export const ImportAuditRowSchema = z.strictObject({
  externalId: ExternalIdSchema,
  occurredAt: ImportTimeSchema,
  action: z
    .string()
    .max(100)
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/, 'must be a dotted lower-case verb like user.login'),
  resourceType: z.string().min(1).max(100),
  resourceId: z.string().min(1).max(200).optional(),
  subjectId: z.string().min(1).max(200).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  outcomeDetail: z.string().max(1000).optional(),
  userExternalId: ExternalIdSchema.optional(),
  userId: z.uuid().optional(),
  actorType: z.enum(['user', 'system', 'service']).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  userAgent: z.string().max(512).optional(),
  requestId: z.string().min(1).max(128).optional(),
  changes: jsonObjectSchema().optional(),
  metadata: jsonObjectSchema().optional(),
});
/**
 * One audit entry to import: the fields of `cb.audit.log()` plus its original id and time. Validated by `ImportAuditRowSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ImportAuditRow } from 'carebase';
 * const row: ImportAuditRow = { externalId: 'log-1', occurredAt: new Date(), action: 'user.login', resourceType: 'user' };
 * await cb.imports.auditEntries({ source: 'mongo-prod', entries: [row] });
 * ```
 */
export interface ImportAuditRow {
  readonly externalId: string;
  /** A `Date` or an ISO 8601 string with a time zone. */
  readonly occurredAt: Date | string;
  /** A dotted lower-case verb like `user.login`. */
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId?: string | undefined;
  readonly subjectId?: string | undefined;
  readonly outcome?: 'success' | 'failure' | undefined;
  readonly outcomeDetail?: string | undefined;
  /** The actor's original id (imported from the same source); or give `userId`. */
  readonly userExternalId?: string | undefined;
  readonly userId?: string | undefined;
  readonly actorType?: 'user' | 'system' | 'service' | undefined;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
  readonly changes?: Record<string, unknown> | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/**
 * Input of `cb.imports.users()`: rows are checked one by one (a bad row is refused in the report,
 * never thrown); the call itself must be well formed.
 *
 * @example
 * ```ts
 * import { ImportUsersInputSchema } from 'carebase/schemas';
 * ImportUsersInputSchema.parse({ source: 'mongo', users: [] });
 * ```
 */
export const ImportUsersInputSchema = z.strictObject({ source: ImportSourceSchema, users: rows });
/**
 * Input of `cb.imports.users()`: its rows are checked one by one (a bad row is refused in the
 * report, never thrown). Validated by `ImportUsersInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const rows: import('carebase').ImportUserRow[]; -->
 * ```ts
 * import type { ImportUsersInput } from 'carebase';
 * const input: ImportUsersInput = { source: 'mongo-prod', users: rows };
 * const report = await cb.imports.users(input);
 * ```
 */
export interface ImportUsersInput {
  /** The system the rows come from: 1-100 letters, digits, `_ . : -` (e.g. `mongo-prod`). */
  readonly source: string;
  /** At most 200 000 rows per call (one transaction each). */
  readonly users: readonly ImportUserRow[];
}

/**
 * Input of `cb.imports.conversations()`.
 *
 * @example
 * ```ts
 * import { ImportConversationsInputSchema } from 'carebase/schemas';
 * ImportConversationsInputSchema.parse({ source: 'mongo', conversations: [] });
 * ```
 */
export const ImportConversationsInputSchema = z.strictObject({
  source: ImportSourceSchema,
  conversations: rows,
});
/**
 * Input of `cb.imports.conversations()`: its rows are checked one by one (a bad row is refused in the
 * report, never thrown). Validated by `ImportConversationsInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const rows: import('carebase').ImportConversationRow[]; -->
 * ```ts
 * import type { ImportConversationsInput } from 'carebase';
 * const input: ImportConversationsInput = { source: 'mongo-prod', conversations: rows };
 * const report = await cb.imports.conversations(input);
 * ```
 */
export interface ImportConversationsInput {
  /** The system the rows come from: 1-100 letters, digits, `_ . : -` (e.g. `mongo-prod`). */
  readonly source: string;
  /** At most 200 000 rows per call (one transaction each). */
  readonly conversations: readonly ImportConversationRow[];
}

/**
 * Input of `cb.imports.messages()`.
 *
 * @example
 * ```ts
 * import { ImportMessagesInputSchema } from 'carebase/schemas';
 * ImportMessagesInputSchema.parse({ source: 'mongo', messages: [] });
 * ```
 */
export const ImportMessagesInputSchema = z.strictObject({ source: ImportSourceSchema, messages: rows });
/**
 * Input of `cb.imports.messages()`: its rows are checked one by one (a bad row is refused in the
 * report, never thrown). Validated by `ImportMessagesInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const rows: import('carebase').ImportMessageRow[]; -->
 * ```ts
 * import type { ImportMessagesInput } from 'carebase';
 * const input: ImportMessagesInput = { source: 'mongo-prod', messages: rows };
 * const report = await cb.imports.messages(input);
 * ```
 */
export interface ImportMessagesInput {
  /** The system the rows come from: 1-100 letters, digits, `_ . : -` (e.g. `mongo-prod`). */
  readonly source: string;
  /** At most 200 000 rows per call (one transaction each). */
  readonly messages: readonly ImportMessageRow[];
}

/**
 * Input of `cb.imports.auditEntries()`.
 *
 * @example
 * ```ts
 * import { ImportAuditInputSchema } from 'carebase/schemas';
 * ImportAuditInputSchema.parse({ source: 'mongo', entries: [] });
 * ```
 */
export const ImportAuditInputSchema = z.strictObject({ source: ImportSourceSchema, entries: rows });
/**
 * Input of `cb.imports.auditEntries()`: its rows are checked one by one (a bad row is refused in the
 * report, never thrown). Validated by `ImportAuditInputSchema` (`carebase/schemas`).
 *
 * @example
 * <!-- snippet-preamble: declare const rows: import('carebase').ImportAuditRow[]; -->
 * ```ts
 * import type { ImportAuditInput } from 'carebase';
 * const input: ImportAuditInput = { source: 'mongo-prod', entries: rows };
 * const report = await cb.imports.auditEntries(input);
 * ```
 */
export interface ImportAuditInput {
  /** The system the rows come from: 1-100 letters, digits, `_ . : -` (e.g. `mongo-prod`). */
  readonly source: string;
  /** At most 200 000 rows per call (one transaction each). */
  readonly entries: readonly ImportAuditRow[];
}
