import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Telemetry, type TelemetrySettings } from '../../src/telemetry/telemetry.js';

// A host with `@opentelemetry/api` installed (a dependency of many libraries) but no SDK
// registered gets only no-op spans and meters from it: carebase then starts no span and records no
// metric per statement (the hot paths stay bare), and still traces once an SDK registers later.
const settings: TelemetrySettings = {
  onQuery: undefined,
  tracing: true,
  metrics: true,
  queryText: false,
  tracerProvider: undefined,
  meterProvider: undefined,
  database: 'db',
  serverAddress: '127.0.0.1',
  serverPort: 5432,
  poolName: 'test',
  logger: { debug() {}, info() {}, warn() {}, error() {} },
};

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterEach(() => {
  trace.disable();
  metrics.disable();
});

afterAll(async () => {
  await database?.drop();
});

describe('telemetry without an OpenTelemetry SDK', () => {
  it('observes nothing per statement while the global providers are no-ops', () => {
    const telemetry = new Telemetry(settings);
    expect(telemetry.observesQueries).toBe(false);
    expect(telemetry.tracesOperations).toBe(false);
    expect(telemetry.query('select 1')).toBeUndefined();
    // Still wraps repositories: an SDK registered later is heard (next test).
    expect(telemetry.mayTraceOperations).toBe(true);
  });

  it('starts tracing operations and statements when an SDK registers after carebase started', async () => {
    const cb = createCarebase({ connectionString: database.url, pool: { max: 2 } });
    try {
      await cb.migrate();
      await cb.users.findByEmail('before@example.org');
      await sql`select 1 as one`.execute(cb.db);
      const exporter = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      expect(trace.setGlobalTracerProvider(provider)).toBe(true);
      try {
        expect(exporter.getFinishedSpans()).toHaveLength(0);
        await cb.users.findByEmail('after@example.org');
        await sql`select 1 as one`.execute(cb.db);
        const spans = exporter.getFinishedSpans();
        const operation = spans.find((span) => span.name === 'carebase users.findByEmail');
        expect(operation).toBeDefined();
        const statements = spans.filter((span) => span.name === 'SELECT carebase.users');
        expect(statements.length).toBeGreaterThan(0);
        // The statement is parented to the operation it ran for.
        expect(statements[0]?.parentSpanContext?.spanId).toBe(operation?.spanContext().spanId);
        expect(spans.some((span) => span.name === 'SELECT')).toBe(true);
      } finally {
        await provider.shutdown();
      }
    } finally {
      await cb.close();
    }
  });

  it('records metrics through a meter provider registered before carebase started', () => {
    expect(new Telemetry({ ...settings, tracing: false }).observesQueries).toBe(false);
    const meterProvider = new MeterProvider();
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    expect(new Telemetry({ ...settings, tracing: false }).observesQueries).toBe(true);
  });
});
