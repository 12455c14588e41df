import { createCarebase, MigrationError } from 'carebase';
import { migrate, migrationStatus, rollback } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  // The owner: rolling library migrations back is DDL.
  database = await createTestDatabase({ role: 'owner' });
});

afterAll(async () => {
  await database?.drop();
});

describe('migrations 0023 and 0024 down and up again', () => {
  it('roll back to the previous chain and fields (on a log without genesis chains), and reapply', async () => {
    const names = async () => ((await migrationStatus(database.url))[0]?.applied ?? []).map((m) => m.name);
    const applied = await names();
    const steps = applied.length - applied.indexOf('0023_audit_anchoring');
    const cb = createCarebase({ connectionString: database.url });
    try {
      await rollback(database.url, { steps, allowLibraryRollback: true, allowDataLoss: true });
      expect(await names()).not.toContain('0023_audit_anchoring');
      // The previous insert trigger, seal and verify are back: a plain insert seals and verifies.
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query(`set search_path = ${cb.config.schema}`);
        await client.query("insert into audit_log (action, resource_type) values ('chart.view', 'chart')");
        await client.query('select audit_seal()');
        const { rows } = await client.query('select first_bad_id from audit_verify(null, null)');
        expect(rows).toEqual([{ first_bad_id: null }]);
      } finally {
        await client.end();
      }
      await migrate(database.url);
      expect(await names()).toEqual(applied);
      await cb.audit.log({ action: 'chart.view', resourceType: 'chart', severity: 'high' });
      expect((await cb.audit.verify()).ok).toBe(true);
      // The current month's chain continues from its old anchor; a new month's starts from the genesis,
      // and rolling 0023 back would make it unverifiable, so that is refused.
      await cb.audit.log({
        action: 'chart.view',
        resourceType: 'chart',
        occurredAt: new Date(Date.now() - 40 * 86_400_000),
      });
      expect((await cb.audit.verify()).ok).toBe(true);
      const refused = await rollback(database.url, {
        steps,
        allowLibraryRollback: true,
        allowDataLoss: true,
      }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(MigrationError);
      expect((refused as MigrationError).message).toContain('0023_audit_anchoring');
      // 0024 (a step of its own) was rolled back before 0023 refused; 0023 and the genesis stay.
      expect(await names()).toEqual(applied.slice(0, applied.indexOf('0024_audit_compliance_fields')));
      await migrate(database.url);
      expect(await names()).toEqual(applied);
    } finally {
      await cb.close();
    }
  });
});
