import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { createCarebase, isCarebaseError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Pool metrics (connections idle/used, max, callers waiting, checkout wait time, timeouts) and
// statement durations, through a MeterProvider given in the options, read on demand.
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

let database: TestDatabase;
const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await meterProvider.shutdown();
  await database?.drop();
});

interface Point {
  readonly attributes: Record<string, unknown>;
  readonly value: unknown;
}

async function points(name: string): Promise<Point[]> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((candidate) => candidate.descriptor.name === name);
  return (metric?.dataPoints ?? []) as unknown as Point[];
}

describe('pool and statement metrics', () => {
  it('observes connections by state, the maximum and waiting callers, and times checkouts', async () => {
    await using cb = createCarebase({
      connectionString: database.url,
      pool: { min: 0, max: 3 },
      telemetry: { meterProvider, tracing: false },
    });
    await sql`select 1`.execute(cb.db);
    await cb.transaction(async (tx) => {
      await sql`select 2`.execute(tx.db);
      const used = (await points('db.client.connection.count')).find(
        (point) => point.attributes['db.client.connection.state'] === 'used',
      );
      expect(used?.value).toBe(1);
    });
    const counts = await points('db.client.connection.count');
    const poolName = `carebase:${database.name}/carebase`;
    expect(counts).toContainEqual(
      expect.objectContaining({
        attributes: { 'db.client.connection.pool.name': poolName, 'db.client.connection.state': 'idle' },
        value: 1,
      }),
    );
    expect((await points('db.client.connection.max'))[0]?.value).toBe(3);
    expect((await points('db.client.connection.pending_requests'))[0]?.value).toBe(0);
    const waits = await points('db.client.connection.wait_time');
    expect((waits[0]?.value as { count: number } | undefined)?.count).toBeGreaterThanOrEqual(2);
    const durations = await points('db.client.operation.duration');
    const selects = durations.find((point) => point.attributes['db.operation.name'] === 'SELECT');
    expect(selects?.attributes['db.system.name']).toBe('postgresql');
    expect((selects?.value as { count: number } | undefined)?.count).toBeGreaterThanOrEqual(2);
  });

  it('counts checkouts that timed out waiting, and stops observing on close', async () => {
    const cb = createCarebase({
      connectionString: database.url,
      schema: 'carebase',
      pool: { min: 0, max: 1, connectionTimeoutMs: 200, applicationName: 'metrics-close' },
      telemetry: { meterProvider, tracing: false },
    });
    await cb.transaction(async () => {
      const error = await sql`select 1`.execute(cb.db).catch((caught: unknown) => caught);
      expect(isCarebaseError(error, 'POOL_TIMEOUT')).toBe(true);
    });
    const timeouts = await points('db.client.connection.timeouts');
    expect(timeouts.reduce((sum, point) => sum + Number(point.value), 0)).toBe(1);
    const idle = async (): Promise<unknown> =>
      (await points('db.client.connection.count')).find(
        (point) =>
          point.attributes['db.client.connection.pool.name'] === `metrics-close:${database.name}/carebase` &&
          point.attributes['db.client.connection.state'] === 'idle',
      )?.value;
    expect(await idle()).toBe(1);
    await cb.close();
    // The ended pool has no idle connection; a callback still registered would report 0. The SDK
    // keeps the last cumulative value of an instrument nobody observes any more.
    expect(cb.pool.idleCount).toBe(0);
    expect(await idle()).toBe(1);
  });
});
