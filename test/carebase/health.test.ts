import { createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' }); // migrates another schema
});

afterAll(async () => {
  await database?.drop();
});

describe('cb.health', () => {
  it('reports latency, version, pool counts and pending migrations', async () => {
    await using cb = createCarebase({ connectionString: database.url, schema: 'health_check' });
    const before = await cb.health();
    expect(before.serverVersion).toMatch(/^\d+(\.\d+)?/);
    expect(before.latencyMs).toBeGreaterThanOrEqual(0);
    expect(before.pool.total).toBeGreaterThanOrEqual(1);
    expect(before.pendingMigrations).toBeGreaterThan(0);
    expect(before.ok).toBe(false);
    await cb.migrate();
    const after = await cb.health();
    expect(after.pendingMigrations).toBe(0);
    expect(after.ok).toBe(true);
  });

  it('returns ok: false with a code for an unreachable server, without throwing', async () => {
    await using cb = createCarebase({ host: '127.0.0.1', port: 1, pool: { connectionTimeoutMs: 500 } });
    const health = await cb.health();
    expect(health.ok).toBe(false);
    expect(health.error?.code).toBe('CONNECTION_FAILED');
    expect(health.serverVersion).toBeUndefined();
  });

  it('applies application_name and statement_timeout to pooled connections', async () => {
    await using cb = createCarebase({
      connectionString: database.url,
      pool: { applicationName: 'clinic-api', statementTimeoutMs: 1234 },
    });
    const { rows } = await sql<{ app: string; timeout: string }>`
      select current_setting('application_name') as app, current_setting('statement_timeout') as timeout`.execute(
      cb.db,
    );
    expect(rows[0]).toEqual({ app: 'clinic-api', timeout: '1234ms' });
  });
});
