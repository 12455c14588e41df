import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from '../cli/bin.js';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
const clinician = '5d0c3a2e-1b7f-4c9a-8e21-6f3b2a1c0d99';

beforeAll(async () => {
  f = await auditFixture({ schema: 'cli_report' });
  const scoped = f.cb.withActor({ userId: clinician, ip: '10.0.0.5' });
  for (let i = 0; i < 3; i++)
    await scoped.audit.access({ subjectId: 'patient-c', resourceType: 'chart', purpose: 'TREAT' });
  await scoped.audit.disclosure({
    subjectId: 'patient-c',
    recipient: 'Insurer, "Acme", Inc.',
    purpose: 'HPAYMT',
    description: 'claim attachment',
  });
  await f.cb.withActor({ userId: clinician, breakGlass: { reason: 'ED' } }).audit.access({
    subjectId: 'patient-x',
    resourceType: 'chart',
  });
});

afterAll(async () => {
  await f?.close();
});

const env = () => ({ ...baseEnv(), DATABASE_URL: f.database.url, CAREBASE_SCHEMA: 'cli_report' });

describe.skipIf(!built)(
  'carebase audit accesses / disclosures / break-glass (the built bin)',
  { timeout: 60_000 },
  () => {
    it('streams CSV (header first), JSON lines, or one JSON document', async () => {
      const csv = await carebase(['audit', 'accesses', '--subject', 'patient-c'], { env: env() });
      expect(csv.code, csv.stderr).toBe(0);
      const lines = csv.stdout.trim().split('\r\n');
      expect(lines[0]).toMatch(/^id,occurredAt,userId,actorType,action,/);
      expect(lines).toHaveLength(5);
      const jsonl = await carebase(['audit', 'disclosures', '--subject', 'patient-c', '--format', 'jsonl'], {
        env: env(),
      });
      expect(jsonl.code, jsonl.stderr).toBe(0);
      expect(JSON.parse(jsonl.stdout.trim())).toMatchObject({
        recipient: 'Insurer, "Acme", Inc.',
        purposeOfUse: 'HPAYMT',
        description: 'claim attachment',
        userId: clinician,
      });
      const json = await carebase(['audit', 'break-glass', '--json'], { env: env() });
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        ok: true,
        count: 1,
        rows: [{ subjectId: 'patient-x', breakGlass: true, breakGlassReason: 'ED', severity: 'high' }],
      });
    });

    it('exits 2 without --subject or with a bad format', async () => {
      expect((await carebase(['audit', 'accesses'], { env: env() })).code).toBe(2);
      expect(
        (await carebase(['audit', 'accesses', '--subject', 'p', '--format', 'xml'], { env: env() })).code,
      ).toBe(2);
    });
  },
);
