import { createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe('audit.log() resolves to { id, occurredAt }', () => {
  for (const sealAfterWrite of [false, true]) {
    it(`gives each of 60 concurrent (grouped) entries its own id (sealAfterWrite: ${sealAfterWrite})`, async () => {
      const cb = createCarebase({ connectionString: database.url, audit: { sealAfterWrite } });
      try {
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            cb.audit.log({
              action: 'chart.view',
              resourceType: 'chart',
              resourceId: `r-${sealAfterWrite}-${i}`,
            }),
          ),
        );
        expect(new Set(results.map((r) => r.id)).size).toBe(60);
        const rows = await cb.db
          .selectFrom('audit_log')
          .select(['id', 'resource_id', 'occurred_at'])
          .where(
            'id',
            'in',
            results.map((r) => r.id),
          )
          .execute();
        const byId = new Map(rows.map((row) => [String(row.id), row]));
        results.forEach((result, i) => {
          expect(byId.get(result.id)?.resource_id).toBe(`r-${sealAfterWrite}-${i}`);
          expect(byId.get(result.id)?.occurred_at.getTime()).toBe(result.occurredAt.getTime());
        });
      } finally {
        await cb.close();
      }
    });
  }

  it('inside a transaction too, and with an explicit occurredAt', async () => {
    const cb = createCarebase({ connectionString: database.url });
    try {
      const at = new Date(Date.now() - 86_400_000);
      const result = await cb.transaction((tx) =>
        tx.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: 'in-tx', occurredAt: at }),
      );
      expect(result.occurredAt.getTime()).toBe(at.getTime());
      const row = await cb.db
        .selectFrom('audit_log')
        .select('resource_id')
        .where('id', '=', result.id)
        .executeTakeFirst();
      expect(row?.resource_id).toBe('in-tx');
    } finally {
      await cb.close();
    }
  });
});
