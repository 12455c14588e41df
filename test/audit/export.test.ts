import { text } from 'node:stream/consumers';
import { ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
const from = new Date(Date.now() - 3_600_000);

beforeAll(async () => {
  f = await auditFixture();
  for (let i = 0; i < 25; i++) {
    await f.cb.audit.log({
      action: 'chart.view',
      resourceType: 'chart',
      resourceId: `c-${i}`,
      userAgent: i === 3 ? 'agent, with "quotes"\nand a newline' : 'ua',
      changes: { i },
      occurredAt: new Date(from.getTime() + i * 1000),
    });
  }
});

afterAll(async () => {
  await f?.close();
});

describe('cb.audit.export', () => {
  it('streams JSON lines oldest first, in small cursor batches', async () => {
    const out = await text(f.cb.audit.export({ from, to: new Date(), format: 'jsonl', batchSize: 7 }));
    const lines = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(25);
    expect(lines[0]).toMatchObject({ action: 'chart.view', resourceId: 'c-0', changes: { i: 0 } });
    expect(lines[24]?.resourceId).toBe('c-24');
    expect(lines[3]?.userAgent).toBe('agent, with "quotes"\nand a newline');
  });

  it('streams CSV with a header and quoted cells, limited to [from, to)', async () => {
    const to = new Date(from.getTime() + 5000);
    const out = await text(f.cb.audit.export({ from, to, format: 'csv' }));
    const [header, ...rest] = out.split('\r\n');
    expect(header).toBe(
      'id,occurredAt,userId,actorType,action,resourceType,resourceId,subjectId,outcome,outcomeDetail,ip,userAgent,requestId,changes,metadata,severity,purposeOfUse,legalBasis,recipient,description,breakGlass,breakGlassReason',
    );
    expect(out).toContain('"agent, with ""quotes""\nand a newline"');
    expect(out).toContain('"{""i"":4}"');
    expect(out).not.toContain('c-5');
    expect(rest.filter((line) => line.includes('chart.view'))).toHaveLength(5);
  });

  it('releases its connection when the consumer stops early', async () => {
    const stream = f.cb.audit.export({ from, to: new Date(), format: 'jsonl', batchSize: 2 });
    for await (const chunk of stream) {
      expect(String(chunk)).toContain('chart.view');
      break; // destroys the stream
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(f.cb.pool.totalCount - f.cb.pool.idleCount).toBe(0);
    const again = await text(f.cb.audit.export({ from, to: new Date(), format: 'jsonl' }));
    expect(again.trimEnd().split('\n')).toHaveLength(25);
  });

  it('refuses bad input synchronously', () => {
    expect(() => f.cb.audit.export({ from: new Date(), to: from, format: 'jsonl' })).toThrow(ValidationError);
    expect(() => f.cb.audit.export({ from, to: new Date(), format: 'xml' as never })).toThrow(
      ValidationError,
    );
  });
});
