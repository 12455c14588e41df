import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
const SECONDS = Number(process.env.CAREBASE_AUDIT_STRESS_SECONDS ?? 3);

beforeAll(async () => {
  f = await auditFixture({ pool: { max: 10 } });
});

afterAll(async () => {
  await f?.close();
});

describe('concurrent writers', () => {
  it(`8 writers for ${SECONDS} s (log and in-transaction recordAudit) leave a chain that verifies`, async () => {
    const deadline = Date.now() + SECONDS * 1000;
    let written = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        let i = 0;
        while (Date.now() < deadline) {
          i++;
          if (i % 4 === 0) {
            // Some entries inside transactions, some of which roll back.
            await f.cb
              .transaction(async (tx) => {
                await tx.audit.log({
                  action: 'chart.update',
                  resourceType: 'chart',
                  resourceId: `${writer}-${i}`,
                });
                if (i % 8 === 0) throw new Error('rollback');
              })
              .then(
                () => written++,
                () => undefined,
              );
          } else {
            await f.cb.audit.log({
              action: 'chart.view',
              resourceType: 'chart',
              resourceId: `${writer}-${i}`,
            });
            written++;
          }
        }
      }),
    );
    const result = await f.cb.audit.verify();
    expect(result).toEqual({ ok: true, checked: written });
    const { rows } = await f.admin(
      'select count(*)::int as entries, (select count(*)::int from audit_chain) as links from audit_log',
    );
    expect(rows[0]).toEqual({ entries: written, links: written });
  }, 60_000);
});
