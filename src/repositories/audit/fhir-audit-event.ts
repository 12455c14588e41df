import type { AuditEntry } from './audit-entry.js';

/** A FHIR R4 JSON object (the subset of shapes this module writes). */
type FhirValue = string | number | boolean | FhirObject | FhirValue[];
interface FhirObject {
  [key: string]: FhirValue;
}

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
/** carebase's own code system for its dotted actions (`user.login`, `record.access`, ...). */
export const CAREBASE_ACTION_SYSTEM = 'urn:carebase:audit-action';

/** Drops undefined, null, empty strings and empty arrays/objects (FHIR forbids empty values). */
function compact(value: Record<string, FhirValue | null | undefined>): FhirObject {
  const out: FhirObject = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner === undefined || inner === null || inner === '') continue;
    if (Array.isArray(inner) && inner.length === 0) continue;
    out[key] = inner;
  }
  return out;
}

/** The DICOM audit event type of an entry. */
function eventType(entry: AuditEntry): FhirObject {
  if (/^(user\.(login|lockout|unlock)|session\.)/.test(entry.action)) {
    return { system: DCM, code: '110114', display: 'User Authentication' };
  }
  if (entry.action === 'record.disclose' || entry.action.endsWith('.export') || entry.recipient !== null) {
    return { system: DCM, code: '110106', display: 'Export' };
  }
  if (entry.subjectId !== null) return { system: DCM, code: '110110', display: 'Patient Record' };
  return { system: DCM, code: '110100', display: 'Application Activity' };
}

/** C(reate), R(ead), U(pdate), D(elete) or E(xecute), from the action's last verb. */
function crud(action: string): 'C' | 'R' | 'U' | 'D' | 'E' {
  const verb = action.slice(action.lastIndexOf('.') + 1);
  if (/^(create|import|append|insert|add)/.test(verb)) return 'C';
  if (/^(access|view|read|search|history|export|disclose|query|list)/.test(verb)) return 'R';
  if (/^(update|rename|change|role_change|password_change|deactivate|reactivate|unlock|set)/.test(verb)) {
    return 'U';
  }
  if (/^(delete|erase|clear|revoke|purge|retention)/.test(verb)) return 'D';
  return 'E';
}

/** A PurposeOfUse code as a CodeableConcept: an HL7 code when it looks like one, else text. */
function purpose(value: string | null): FhirObject[] {
  if (value === null) return [];
  return [
    /^[A-Z][A-Z0-9]*$/.test(value) ? { coding: [{ system: ACT_REASON, code: value }] } : { text: value },
  ];
}

function identifier(system: string, value: string): FhirObject {
  return { identifier: { system, value } };
}

function detail(type: string, value: string | null): FhirObject[] {
  return value === null || value === '' ? [] : [{ type, valueString: value }];
}

/**
 * Maps an audit entry to a FHIR R4 `AuditEvent` (IHE ATNA): who (agent: the user, their IP as
 * `network`, the purpose of use; a disclosure's recipient as a second agent), what (`type` from
 * DICOM, `subtype` = the carebase action, CRUDE `action`, entities for the resource and the
 * subject as patient), when (`recorded`), where (`source`), outcome, purpose (`purposeOfEvent`).
 * Fields FHIR has no element for (severity, legal basis, break-glass reason, request id, user
 * agent, change set) go into the resource entity's `detail`.
 */
export function toFhirAuditEvent(entry: AuditEntry, site: string): FhirObject {
  const agents: FhirObject[] = [
    compact({
      who:
        entry.userId === null ? { display: entry.actorType } : identifier('urn:carebase:user', entry.userId),
      requestor: true,
      network: entry.ip === null ? undefined : { address: entry.ip, type: '2' },
      purposeOfUse: purpose(entry.purposeOfUse),
    }),
  ];
  if (entry.recipient !== null) {
    agents.push({
      type: { coding: [{ system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }] },
      who: { display: entry.recipient },
      requestor: false,
    });
  }
  const details = [
    ...detail('severity', entry.severity),
    ...detail('legalBasis', entry.legalBasis),
    ...(entry.breakGlass ? [{ type: 'breakGlass', valueString: 'true' }] : []),
    ...detail('breakGlassReason', entry.breakGlassReason),
    ...detail('requestId', entry.requestId),
    ...detail('userAgent', entry.userAgent),
    ...detail('changes', entry.changes === null ? null : JSON.stringify(entry.changes)),
    ...detail('metadata', entry.metadata === null ? null : JSON.stringify(entry.metadata)),
  ];
  const entities: FhirObject[] = [
    compact({
      what:
        entry.resourceId === null
          ? { display: entry.resourceType }
          : identifier(`urn:carebase:${encodeURIComponent(entry.resourceType)}`, entry.resourceId),
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      name: entry.resourceType,
      description: entry.description,
      detail: details,
    }),
  ];
  if (entry.subjectId !== null) {
    entities.push({
      what: identifier('urn:carebase:subject', entry.subjectId),
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
    });
  }
  return compact({
    resourceType: 'AuditEvent',
    id: entry.id,
    type: eventType(entry),
    subtype: [
      { system: CAREBASE_ACTION_SYSTEM, code: entry.action },
      ...(entry.breakGlass ? [{ system: DCM, code: '110127', display: 'Emergency Override Started' }] : []),
    ],
    action: crud(entry.action),
    recorded: entry.occurredAt.toISOString(),
    outcome: entry.outcome === 'success' ? '0' : '4',
    outcomeDesc: entry.outcomeDetail,
    purposeOfEvent: purpose(entry.purposeOfUse),
    agent: agents,
    source: {
      site,
      observer: { display: 'carebase' },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    entity: entities,
  });
}
