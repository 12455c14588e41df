import { AuditEntryInputSchema } from 'carebase/schemas';
import { describe, expect, it } from 'vitest';
import { quickAuditEntry } from '../../src/repositories/audit/quick-entry.js';
import { quickParseCheck } from '../support/quick-parse.js';

/**
 * `quickAuditEntry` parses plainly valid audit entries without zod (the hot path of `audit.log`).
 * It must accept nothing `AuditEntryInputSchema` refuses and return what the schema returns; it
 * may decline anything (the schema then parses). Checked over every field's edge values, alone
 * and in seeded random combinations.
 */
const BASE = {
  action: 'chart.view',
  resourceType: 'chart',
  resourceId: 'chart-1',
  subjectId: 'patient-1',
  userId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  ip: '10.0.0.1',
  userAgent: 'Mozilla/5.0 bench',
  requestId: 'req-1',
  changes: { field: 'dose', from: 1, to: 2 },
};

const s = (n: number, c = 'a') => c.repeat(n);
/** Values to try for each field: valid ones, edges on both sides, and wrong types. */
const VARIANTS: Record<string, unknown[]> = {
  action: [
    'user.login',
    'a',
    s(100),
    s(101),
    'User.login',
    'a..b',
    'a.b-c_d.e9',
    '',
    'a.',
    1,
    null,
    undefined,
  ],
  resourceType: ['x', s(100), s(101), '', 5, undefined, null],
  resourceId: ['x', s(200), s(201), '', undefined, null, 3],
  subjectId: ['x', s(200), s(201), '', undefined, null],
  outcome: ['success', 'failure', 'ok', undefined, null, ''],
  outcomeDetail: ['', 'invalid_credentials', s(1000), s(1001), undefined, null],
  userId: [
    null,
    undefined,
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '7C9E6679-7425-40DE-944B-E07FC1F90AE7',
    '7c9e6679-7425-00de-944b-e07fc1f90ae7',
    '7c9e6679-7425-40de-c44b-e07fc1f90ae7',
    '7c9e6679742540de944be07fc1f90ae7',
    'not-a-uuid',
    42,
  ],
  actorType: ['user', 'system', 'service', 'robot', undefined, null],
  ip: ['10.0.0.1', '::1', '2001:db8::1', '10.0.0.256', 'localhost', '', undefined, null],
  userAgent: ['', s(512), s(513), undefined, null],
  requestId: ['r', s(128), s(129), '', undefined, null],
  changes: [
    {},
    { a: [1, 'b', null, true, { c: 1.5 }] },
    { at: new Date(0) },
    [],
    'text',
    null,
    undefined,
    { bad: undefined },
    { n: Number.NaN },
    { deep: JSON.parse(`${'{"a":'.repeat(80)}1${'}'.repeat(80)}`) as unknown },
    { big: s(2_000_000) },
    new Date(0),
  ],
  metadata: [{ k: 'v' }, [], undefined, null],
  severity: ['info', 'notice', 'warning', 'high', 'critical', 'urgent', undefined, null],
  purposeOfUse: ['TREAT', s(200), s(201), '', undefined],
  legalBasis: ['HIPAA 164.506', s(500), s(501), '', undefined],
  recipient: ['Acme', s(500), s(501), '', undefined],
  description: ['x', s(2000), s(2001), '', undefined],
  breakGlass: [{ reason: 'emergency' }, { reason: '' }, {}, undefined],
  occurredAt: [new Date(), new Date(Number.NaN), '2026-01-01', 0, undefined],
  unknownField: [undefined, 'x'],
};

const { check, fieldByField, combinations } = quickParseCheck(quickAuditEntry, AuditEntryInputSchema);

describe('quickAuditEntry', () => {
  it('accepts a typical entry, returning what the schema returns', () => {
    expect(check(BASE)).toBe('quick');
    expect(check({ action: 'user.login', resourceType: 'user' })).toBe('quick');
    expect(check({ ...BASE, occurredAt: new Date(), severity: 'high', userId: null })).toBe('quick');
  });

  it('accepts nothing the schema refuses, field by field', () => {
    const counts = fieldByField(BASE, VARIANTS);
    // Both sides are exercised: edges the quick path takes and refusals it leaves to the schema.
    expect(counts.quick).toBeGreaterThan(60);
    expect(counts.declined).toBeGreaterThan(60);
  });

  it('accepts nothing the schema refuses, in random combinations', () => {
    const counts = combinations({ action: 'chart.view', resourceType: 'chart' }, VARIANTS, 3000, 0.8);
    expect(counts.quick).toBeGreaterThan(10);
  });

  it('declines what is not a plain object', () => {
    class Entry {
      action = 'chart.view';
      resourceType = 'chart';
    }
    for (const input of [null, undefined, 'chart.view', 1, [], new Entry(), new Map()]) {
      expect(quickAuditEntry(input)).toBeUndefined();
    }
    expect(check(Object.assign(Object.create(null) as object, BASE))).toBe('quick');
  });
});
