import type { JsonValue } from '../../schema/audit.js';
import type { AuditSeverity } from './record.js';

/**
 * One stored audit entry, as `cb.audit.query()` returns it and `cb.audit.export()` writes it.
 *
 * @example
 * ```ts
 * const { items } = await cb.audit.query({ action: 'user.login', limit: 10 });
 * for (const entry of items) console.log(entry.occurredAt, entry.userId, entry.outcome, entry.severity);
 * ```
 */
export interface AuditEntry {
  /** bigint identity, as a string. */
  readonly id: string;
  readonly occurredAt: Date;
  /** The acting user (the same name as in `log()` input and `query()` filters). */
  readonly userId: string | null;
  /** @deprecated Use `userId` (the same value); kept for entries read by code written before 0.2. */
  readonly actorUserId: string | null;
  readonly actorType: 'user' | 'system' | 'service';
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string | null;
  readonly subjectId: string | null;
  readonly outcome: 'success' | 'failure';
  readonly outcomeDetail: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
  readonly changes: JsonValue | null;
  readonly metadata: JsonValue | null;
  readonly severity: AuditSeverity;
  /** Why the record was accessed or disclosed (an HL7 PurposeOfUse code or free text). */
  readonly purposeOfUse: string | null;
  readonly legalBasis: string | null;
  /** Who received a disclosure. */
  readonly recipient: string | null;
  /** What was disclosed or done, in words. */
  readonly description: string | null;
  /** Emergency (break-glass) access. */
  readonly breakGlass: boolean;
  readonly breakGlassReason: string | null;
}

/** The columns of an {@link AuditEntry}, in export order. */
export const AUDIT_ENTRY_COLUMNS = [
  'id',
  'occurred_at',
  'actor_user_id',
  'actor_type',
  'action',
  'resource_type',
  'resource_id',
  'subject_id',
  'outcome',
  'outcome_detail',
  'ip',
  'user_agent',
  'request_id',
  'changes',
  'metadata',
  'severity',
  'purpose_of_use',
  'legal_basis',
  'recipient',
  'description',
  'break_glass',
  'break_glass_reason',
] as const;

/** A selected `audit_log` row. */
export interface AuditRow {
  id: string;
  occurred_at: Date;
  actor_user_id: string | null;
  actor_type: 'user' | 'system' | 'service';
  action: string;
  resource_type: string;
  resource_id: string | null;
  subject_id: string | null;
  outcome: 'success' | 'failure';
  outcome_detail: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  changes: JsonValue | null;
  metadata: JsonValue | null;
  severity: AuditSeverity;
  purpose_of_use: string | null;
  legal_basis: string | null;
  recipient: string | null;
  description: string | null;
  break_glass: boolean;
  break_glass_reason: string | null;
}

/** Maps a selected row to an {@link AuditEntry}. */
export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    occurredAt: row.occurred_at,
    userId: row.actor_user_id,
    actorUserId: row.actor_user_id,
    actorType: row.actor_type,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    subjectId: row.subject_id,
    outcome: row.outcome,
    outcomeDetail: row.outcome_detail,
    ip: row.ip,
    userAgent: row.user_agent,
    requestId: row.request_id,
    changes: row.changes,
    metadata: row.metadata,
    severity: row.severity,
    purposeOfUse: row.purpose_of_use,
    legalBasis: row.legal_basis,
    recipient: row.recipient,
    description: row.description,
    breakGlass: row.break_glass,
    breakGlassReason: row.break_glass_reason,
  };
}
