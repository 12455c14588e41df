import { randomUUID } from 'node:crypto';
import { ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';
import { newAccount } from '../support/users.js';

let f: AuditFixture;
const clinician = randomUUID();

beforeAll(async () => {
  f = await auditFixture({ schema: 'audit_compliance', users: { bcryptCost: 10 } });
});

afterAll(async () => {
  await f?.close();
});

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('compliance fields and filters', () => {
  it('stores severity, purpose, legal basis, recipient and description, and reads back userId', async () => {
    await f.cb.withActor({ userId: clinician, ip: '10.0.0.9' }).audit.log({
      action: 'lab.release',
      resourceType: 'lab_result',
      resourceId: 'fields-1',
      subjectId: 'patient-f',
      severity: 'warning',
      purposeOfUse: 'TREAT',
      legalBasis: 'HIPAA 164.506',
      recipient: 'Dr. Example, Clinic B',
      description: 'CBC result',
    });
    const { items } = await f.cb.audit.query({ resourceId: 'fields-1' });
    expect(items[0]).toMatchObject({
      userId: clinician,
      actorUserId: clinician,
      severity: 'warning',
      purposeOfUse: 'TREAT',
      legalBasis: 'HIPAA 164.506',
      recipient: 'Dr. Example, Clinic B',
      description: 'CBC result',
      breakGlass: false,
      breakGlassReason: null,
    });
    const plain = await f.cb.audit.query({ userId: clinician, limit: 1 });
    expect(plain.items[0]?.userId).toBe(clinician);
  });

  it('filters by severity (one, several, at least), purpose, recipient, legal basis', async () => {
    for (const severity of ['info', 'notice', 'high', 'critical'] as const) {
      await f.cb.audit.log({
        action: 'sev.test',
        resourceType: 'sev',
        resourceId: `sev-${severity}`,
        severity,
      });
    }
    const ids = (page: { items: { resourceId: string | null }[] }) =>
      page.items.map((e) => e.resourceId).sort();
    expect(ids(await f.cb.audit.query({ action: 'sev.test', severity: 'high' }))).toEqual(['sev-high']);
    expect(ids(await f.cb.audit.query({ action: 'sev.test', severity: ['info', 'notice'] }))).toEqual([
      'sev-info',
      'sev-notice',
    ]);
    expect(ids(await f.cb.audit.query({ action: 'sev.test', minSeverity: 'high' }))).toEqual([
      'sev-critical',
      'sev-high',
    ]);
    expect(ids(await f.cb.audit.query({ purposeOfUse: 'TREAT' }))).toEqual(['fields-1']);
    expect(ids(await f.cb.audit.query({ recipient: 'Dr. Example, Clinic B' }))).toEqual(['fields-1']);
    expect(ids(await f.cb.audit.query({ legalBasis: 'HIPAA 164.506' }))).toEqual(['fields-1']);
  });

  it('refuses a bad severity naming the field, before any SQL', async () => {
    const error = await f.cb.audit.query({ severity: 'loud' as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toEqual(['severity']);
    await expect(
      f.cb.audit.log({ action: 'x.y', resourceType: 'x', severity: 'loud' as never }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('covers the new fields with the entry hash (old-form entries too)', async () => {
    await f.cb.audit.log({
      action: 'hash.new',
      resourceType: 'h',
      resourceId: 'hash-new',
      purposeOfUse: 'TREAT',
    });
    await f.cb.audit.log({ action: 'hash.old', resourceType: 'h', resourceId: 'hash-old' });
    expect((await f.cb.audit.verify()).ok).toBe(true);
    for (const [resourceId, change, undo] of [
      ['hash-new', "purpose_of_use = 'HPAYMT'", "purpose_of_use = 'TREAT'"],
      ['hash-old', "severity = 'critical'", "severity = 'info'"],
      ['hash-old', 'break_glass = true', 'break_glass = false'],
    ] as const) {
      const { rows } = await f.admin('select id::text as id from audit_log where resource_id = $1', [
        resourceId,
      ]);
      const id = String(rows[0]?.id);
      await f.tamper(`update audit_log set ${change} where id = $1`, [id]);
      expect(await f.cb.audit.verify()).toMatchObject({ ok: false, firstBadId: id, reason: 'entry_altered' });
      await f.tamper(`update audit_log set ${undo} where id = $1`, [id]);
    }
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });
});

describe('read access, disclosures and reports', () => {
  it('records access() events from a chart-view loop and reports them per subject, oldest first', async () => {
    const scoped = f.cb.withActor({ userId: clinician, ip: '10.0.0.7', userAgent: 'ward-pc' });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        scoped.audit.access({
          subjectId: 'patient-r',
          resourceType: 'chart',
          resourceId: `chart-${i % 4}`,
          purpose: 'TREAT',
        }),
      ),
    );
    await f.cb.audit.access({ subjectId: 'patient-other', resourceType: 'chart' });
    const report = await collect(f.cb.audit.report.accessesToSubject({ subjectId: 'patient-r' }));
    expect(report).toHaveLength(40);
    expect(report[0]).toMatchObject({
      action: 'record.access',
      userId: clinician,
      ip: '10.0.0.7',
      userAgent: 'ward-pc',
      purposeOfUse: 'TREAT',
      subjectId: 'patient-r',
    });
    const times = report.map((e) => e.occurredAt.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // A range before every entry is empty; a bad range is refused synchronously.
    expect(
      await collect(f.cb.audit.report.accessesToSubject({ subjectId: 'patient-r', to: new Date(0) })),
    ).toEqual([]);
    expect(() =>
      f.cb.audit.report.accessesToSubject({ subjectId: 'patient-r', from: new Date(2), to: new Date(1) }),
    ).toThrow(ValidationError);
  });

  it('pages through a report larger than one page', async () => {
    const many = Array.from({ length: 1100 }, (_, i) =>
      f.cb.audit.access({ subjectId: 'patient-many', resourceType: 'chart', resourceId: `m-${i}` }),
    );
    await Promise.all(many);
    const report = await collect(f.cb.audit.report.accessesToSubject({ subjectId: 'patient-many' }));
    expect(report).toHaveLength(1100);
    expect(new Set(report.map((e) => e.id)).size).toBe(1100);
  });

  it('accounts for disclosures (recipient, purpose, date, description)', async () => {
    await f.cb.withActor({ userId: clinician }).audit.disclosure({
      subjectId: 'patient-d',
      recipient: 'County Health Department',
      purpose: 'PUBHLTH',
      description: 'notifiable disease report',
      legalBasis: 'HIPAA 164.512(b)',
    });
    await f.cb.audit.access({ subjectId: 'patient-d', resourceType: 'chart' });
    const lines = await collect(f.cb.audit.report.disclosures({ subjectId: 'patient-d' }));
    expect(lines).toEqual([
      {
        entryId: expect.any(String),
        occurredAt: expect.any(Date),
        recipient: 'County Health Department',
        purposeOfUse: 'PUBHLTH',
        description: 'notifiable disease report',
        legalBasis: 'HIPAA 164.512(b)',
        userId: clinician,
        resourceType: 'record',
        resourceId: null,
      },
    ]);
    const all = await collect(f.cb.audit.report.accessesToSubject({ subjectId: 'patient-d' }));
    expect(all.map((e) => e.action)).toEqual(['record.disclose', 'record.access']);
  });

  it("records carebase's own reads of another participant's chat under withActor, not of one's own", async () => {
    const owner = await f.cb.users.create(newAccount());
    await f.cb.chat.append({ userId: owner.id, role: 'user', content: 'my blood pressure is high' });
    await f.cb.withActor({ userId: owner.id }).chat.history({ userId: owner.id });
    await f.cb.withActor({ userId: clinician }).chat.history({ userId: owner.id });
    await f.cb.withActor({ userId: clinician }).chat.search({ userId: owner.id, query: 'pressure' });
    await f.cb.chat.history({ userId: owner.id }); // unattributed: nothing to record
    const report = await collect(f.cb.audit.report.accessesToSubject({ subjectId: owner.id }));
    const reads = report.filter((e) => e.action === 'chat.access');
    expect(reads.map((e) => [e.userId, e.description])).toEqual([
      [clinician, 'chat history read'],
      [clinician, 'chat messages searched'],
    ]);
    // The user's data export is reported too.
    await f.cb.withActor({ userId: clinician }).users.exportData(owner.id);
    const after = await collect(f.cb.audit.report.accessesToSubject({ subjectId: owner.id }));
    expect(after.some((e) => e.action === 'user.export' && e.userId === clinician)).toBe(true);
  });
});

describe('break-glass access', () => {
  it('marks every entry of a break-glass scope (severity high at least) and lists them for review', async () => {
    const from = new Date(Date.now() - 1000);
    const emergency = f.cb.withActor({
      userId: clinician,
      breakGlass: { reason: 'patient unconscious in ED' },
    });
    await emergency.audit.access({ subjectId: 'patient-bg', resourceType: 'chart', purpose: 'ETREAT' });
    await emergency.audit.log({ action: 'chart.note', resourceType: 'chart', severity: 'critical' });
    const account = await emergency.users.create(newAccount());
    await f.cb.audit.access({ subjectId: 'patient-bg', resourceType: 'chart' });
    const listed = await collect(f.cb.audit.report.breakGlass({ from }));
    expect(listed.map((e) => [e.action, e.severity, e.breakGlass, e.breakGlassReason])).toEqual([
      ['record.access', 'high', true, 'patient unconscious in ED'],
      ['chart.note', 'critical', true, 'patient unconscious in ED'],
      ['user.create', 'high', true, 'patient unconscious in ED'],
    ]);
    expect(listed[2]?.resourceId).toBe(account.id);
    const filtered = await f.cb.audit.query({ breakGlass: true, from });
    expect(filtered.items).toHaveLength(3);
    expect(() => f.cb.withActor({ userId: clinician, breakGlass: { reason: '' } })).toThrow(ValidationError);
    expect((await f.cb.audit.verify()).ok).toBe(true);
  });
});
