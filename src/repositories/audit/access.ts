import { z } from 'zod';
import type { RepositoryContext } from '../context.js';
import { type AuditSeverity, AuditSeveritySchema, recordAudit } from './record.js';

const text = (max: number) => z.string().min(1).max(max);

/**
 * A read-access event for `scope.audit.access()`: the scope's actor viewed a record about
 * `subjectId` (a patient id). `purpose` is an HL7 PurposeOfUse code or free text.
 *
 * @example
 * ```ts
 * import { AuditAccessInputSchema } from 'carebase/schemas';
 * AuditAccessInputSchema.parse({ subjectId: 'patient-7', resourceType: 'chart', resourceId: '42', purpose: 'TREAT' });
 * ```
 */
export const AuditAccessInputSchema = z.strictObject({
  /** Whose record was viewed (a patient or person id). */
  subjectId: text(200),
  /** What kind of record, e.g. `chart`, `lab_result`. */
  resourceType: text(100),
  resourceId: text(200).optional(),
  /** Why (HL7 PurposeOfUse code such as `TREAT`, or free text). */
  purpose: text(200).optional(),
  legalBasis: text(500).optional(),
  /** What was viewed, in words. */
  description: text(2000).optional(),
  /** @default 'record.access' */
  action: z
    .string()
    .max(100)
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/, 'must be a dotted lower-case verb like chart.view')
    .optional(),
  /** @default 'success' (a refused view is `failure`) */
  outcome: z.enum(['success', 'failure']).optional(),
  /** @default 'info' */
  severity: AuditSeveritySchema.optional(),
  occurredAt: z.date().optional(),
});

/**
 * A read-access event for `scope.audit.access()`: the scope's actor viewed a record about
 * `subjectId`. Validated by `AuditAccessInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditAccessInput } from 'carebase';
 * const view: AuditAccessInput = { subjectId: 'patient-7', resourceType: 'chart', resourceId: '42', purpose: 'TREAT' };
 * await cb.withActor({ userId }).audit.access(view);
 * ```
 */
export interface AuditAccessInput {
  /** Whose record was viewed (a patient or person id). */
  readonly subjectId: string;
  /** What kind of record, e.g. `chart`, `lab_result`. */
  readonly resourceType: string;
  /** The record's id. */
  readonly resourceId?: string | undefined;
  /** Why (HL7 PurposeOfUse code such as `TREAT`, or free text). */
  readonly purpose?: string | undefined;
  /** The legal basis of the access. */
  readonly legalBasis?: string | undefined;
  /** What was viewed, in words. */
  readonly description?: string | undefined;
  /** A dotted lower-case verb. @default 'record.access' */
  readonly action?: string | undefined;
  /** @default 'success' (a refused view is `failure`) */
  readonly outcome?: 'success' | 'failure' | undefined;
  /** @default 'info' */
  readonly severity?: AuditSeverity | undefined;
  /** When it happened. @default now */
  readonly occurredAt?: Date | undefined;
}

/**
 * A disclosure for `scope.audit.disclosure()`: records about `subjectId` given to `recipient`
 * (HIPAA 164.528: date, recipient, what, and why).
 *
 * @example
 * ```ts
 * import { AuditDisclosureInputSchema } from 'carebase/schemas';
 * AuditDisclosureInputSchema.parse({
 *   subjectId: 'patient-7',
 *   recipient: 'County Health Department',
 *   purpose: 'PUBHLTH',
 *   description: 'notifiable disease report',
 * });
 * ```
 */
export const AuditDisclosureInputSchema = z.strictObject({
  subjectId: text(200),
  /** Who received it (a person or organization, with an address when known). */
  recipient: text(500),
  /** Why (HL7 PurposeOfUse code or a brief statement). */
  purpose: text(200),
  /** What was disclosed, briefly. */
  description: text(2000),
  legalBasis: text(500).optional(),
  /** @default 'record' */
  resourceType: text(100).optional(),
  resourceId: text(200).optional(),
  /** @default 'notice' */
  severity: AuditSeveritySchema.optional(),
  occurredAt: z.date().optional(),
});

/**
 * A disclosure for `scope.audit.disclosure()`: records about `subjectId` given to `recipient`
 * (HIPAA 164.528). Validated by `AuditDisclosureInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditDisclosureInput } from 'carebase';
 * const disclosure: AuditDisclosureInput = {
 *   subjectId: 'patient-7',
 *   recipient: 'County Health Department',
 *   purpose: 'PUBHLTH',
 *   description: 'notifiable disease report',
 * };
 * await cb.withActor({ userId }).audit.disclosure(disclosure);
 * ```
 */
export interface AuditDisclosureInput {
  /** Whose records were disclosed. */
  readonly subjectId: string;
  /** Who received it (a person or organization, with an address when known). */
  readonly recipient: string;
  /** Why (HL7 PurposeOfUse code or a brief statement). */
  readonly purpose: string;
  /** What was disclosed, briefly. */
  readonly description: string;
  /** The legal basis of the disclosure. */
  readonly legalBasis?: string | undefined;
  /** @default 'record' */
  readonly resourceType?: string | undefined;
  /** The record's id. */
  readonly resourceId?: string | undefined;
  /** @default 'notice' */
  readonly severity?: AuditSeverity | undefined;
  /** When it happened. @default now */
  readonly occurredAt?: Date | undefined;
}

/** Records a read access (batched with concurrent writes, like `log`). */
export async function recordAccess(
  ctx: RepositoryContext,
  input: z.output<typeof AuditAccessInputSchema>,
): Promise<void> {
  await recordAudit(ctx, {
    action: input.action ?? 'record.access',
    resourceType: input.resourceType,
    subjectId: input.subjectId,
    ...(input.resourceId === undefined ? {} : { resourceId: input.resourceId }),
    ...(input.purpose === undefined ? {} : { purposeOfUse: input.purpose }),
    ...(input.legalBasis === undefined ? {} : { legalBasis: input.legalBasis }),
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.outcome === undefined ? {} : { outcome: input.outcome }),
    ...(input.severity === undefined ? {} : { severity: input.severity }),
    ...(input.occurredAt === undefined ? {} : { occurredAt: input.occurredAt }),
  });
}

/** Records a disclosure. */
export async function recordDisclosure(
  ctx: RepositoryContext,
  input: z.output<typeof AuditDisclosureInputSchema>,
): Promise<void> {
  await recordAudit(ctx, {
    action: 'record.disclose',
    resourceType: input.resourceType ?? 'record',
    subjectId: input.subjectId,
    recipient: input.recipient,
    purposeOfUse: input.purpose,
    description: input.description,
    severity: input.severity ?? 'notice',
    ...(input.resourceId === undefined ? {} : { resourceId: input.resourceId }),
    ...(input.legalBasis === undefined ? {} : { legalBasis: input.legalBasis }),
    ...(input.occurredAt === undefined ? {} : { occurredAt: input.occurredAt }),
  });
}

/**
 * carebase's own reads of PHI it holds: when a scope's actor reads another person's chat messages
 * (history, search), records `chat.access` about that person. Nothing when there is no actor
 * (unattributed calls) or the actor reads their own messages.
 */
export async function recordChatRead(
  ctx: RepositoryContext,
  ownerId: string,
  what: 'history' | 'search',
  conversationId: string | undefined,
): Promise<void> {
  const actor = ctx.actor;
  if (actor === undefined || actor.userId === ownerId) return;
  await recordAudit(ctx, {
    action: 'chat.access',
    resourceType: conversationId === undefined ? 'chat_history' : 'conversation',
    resourceId: conversationId ?? ownerId,
    subjectId: ownerId,
    description: what === 'history' ? 'chat history read' : 'chat messages searched',
  });
}
