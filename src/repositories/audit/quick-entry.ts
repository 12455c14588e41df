import { quick, quickObject } from '../../validation/quick.js';

/** The pattern of `action` in `AuditEntryInputSchema`. */
export const AUDIT_ACTION_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

/**
 * `AuditEntryInputSchema`'s quick parse (see `src/validation/quick.ts`): every field but
 * `breakGlass`, which goes to the schema. test/audit/quick-entry.test.ts holds it to the schema.
 */
export const quickAuditEntry = quickObject(
  {
    action: quick.text(0, 100, AUDIT_ACTION_PATTERN),
    resourceType: quick.text(1, 100),
    resourceId: quick.text(1, 200),
    subjectId: quick.text(1, 200),
    outcome: quick.oneOf('success', 'failure'),
    outcomeDetail: quick.text(0, 1000),
    userId: quick.nullableUuid,
    actorType: quick.oneOf('user', 'system', 'service'),
    ip: quick.ip,
    userAgent: quick.text(0, 512),
    requestId: quick.text(1, 128),
    changes: quick.jsonObject,
    metadata: quick.jsonObject,
    severity: quick.oneOf('info', 'notice', 'warning', 'high', 'critical'),
    purposeOfUse: quick.text(1, 200),
    legalBasis: quick.text(1, 500),
    recipient: quick.text(1, 500),
    description: quick.text(1, 2000),
    occurredAt: quick.date,
  },
  ['action', 'resourceType'],
);
