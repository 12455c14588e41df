import { createHash } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Carebase, createCarebase, isCarebaseError, type QueryEvent } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Spans for every public operation and its SQL, through an in-memory exporter, and the onQuery
// hook: both carry names, counts and codes, never a value the test sent (password, token, email,
// message text, search terms, ids of the audited resource).
const PASSWORD = 'Tangerine-Otter-Lantern-41';
const USERNAME = 'quokka_user_7731';
const EMAIL = 'quokka.7731@example.org';
const MESSAGE = 'Patient reports zebrafish-shaped rash on the left elbow';
const SEARCH = 'zebrafish';
const RESOURCE_ID = 'chart-MRN-99887766';
const EVENT_NAME = 'feature.secret_button_pressed';

let database: TestDatabase;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const events: QueryEvent[] = [];
let cb: Carebase;
let token: string;

beforeAll(async () => {
  database = await createTestDatabase();
  cb = createCarebase({
    connectionString: database.url,
    telemetry: { tracerProvider: provider, metrics: false },
    onQuery: (event) => events.push(event),
  });
  const user = await cb.users.create({ username: USERNAME, email: EMAIL, password: PASSWORD, role: 'nurse' });
  const login = await cb.users.authenticate({ login: EMAIL, password: PASSWORD });
  expect(login.ok).toBe(true);
  ({ token } = await cb.sessions.create({ userId: user.id }));
  expect(await cb.sessions.validate(token)).toBeDefined();
  await cb.chat.append({ userId: user.id, role: 'user', content: MESSAGE });
  expect((await cb.chat.search({ userId: user.id, query: SEARCH })).items).toHaveLength(1);
  // A user's first append also creates (and audits) the default conversation; the second is the
  // hot path alone.
  await cb.chat.append({ userId: user.id, role: 'assistant', content: 'second' });
  await cb.withActor({ userId: user.id }).audit.log({
    action: 'chart.view',
    resourceType: 'chart',
    resourceId: RESOURCE_ID,
  });
  await cb.analytics.track({ userId: user.id, eventType: 'feature', eventName: EVENT_NAME });
  // A batch at or above analytics.copyThreshold (500) is written with COPY through the pool's COPY-in path.
  await cb.analytics.trackMany(
    Array.from({ length: 500 }, () => ({ userId: user.id, eventType: 'feature', eventName: EVENT_NAME })),
  );
  await cb.transaction(async (tx) => {
    await tx.users.findByEmail(EMAIL);
  });
  // A sub-API of a repository (cb.users.passwordReset) is traced under its own name too.
  await cb.users.passwordReset.request({ login: EMAIL });
  const page = await cb.users.list({ limit: 10 });
  expect(page.items).toHaveLength(1);
  await sql`select ${USERNAME}::text as echoed`.execute(cb.db);
  let exported = '';
  for await (const chunk of cb.chat.export({ userId: user.id, format: 'jsonl' })) exported += String(chunk);
  expect(exported).toContain(MESSAGE);
  const duplicate = await cb.users
    .create({ username: USERNAME, email: EMAIL, password: PASSWORD, role: 'nurse' })
    .catch((error: unknown) => error);
  expect(isCarebaseError(duplicate, 'CONFLICT')).toBe(true);
});

afterAll(async () => {
  await cb?.close();
  await provider.shutdown();
  await database?.drop();
});

/** Every value the test sent, and derived ones a careless span could carry (the token's hash). */
function secrets(): string[] {
  return [
    PASSWORD,
    USERNAME,
    EMAIL,
    MESSAGE,
    SEARCH,
    RESOURCE_ID,
    EVENT_NAME,
    token,
    createHash('sha256').update(token).digest('hex'),
  ];
}

/** Everything a span exports: name, attributes, events (with theirs), status, links. */
function exported(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events,
    status: span.status,
    links: span.links,
  });
}

function operationSpan(name: string): ReadableSpan {
  const span = exporter.getFinishedSpans().find((candidate) => candidate.name === `carebase ${name}`);
  expect(span, `no span for ${name}`).toBeDefined();
  return span as ReadableSpan;
}

function childrenOf(parent: ReadableSpan): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
}

/** The SQL statements (client spans) directly under `parent`. */
function statementsOf(parent: ReadableSpan): ReadableSpan[] {
  return childrenOf(parent).filter((span) => span.kind === SpanKind.CLIENT);
}

describe('OpenTelemetry spans', () => {
  it('has a span per public operation, with its SQL as child spans', () => {
    for (const name of [
      'users.create',
      'users.authenticate',
      'sessions.create',
      'sessions.validate',
      'chat.append',
      'chat.search',
      'audit.log',
      'analytics.track',
      'transaction',
      'users.list',
      'chat.export',
      'users.passwordReset.request',
    ]) {
      const span = operationSpan(name);
      expect(span.attributes['carebase.operation']).toBe(name);
      expect(span.attributes['db.system']).toBe('postgresql');
      const statements = statementsOf(span);
      expect(statements.length, `SQL spans under ${name}`).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(statement.attributes['db.system']).toBe('postgresql');
        expect(statement.attributes['db.namespace']).toBe(database.name);
        expect(typeof statement.attributes['db.operation']).toBe('string');
        expect(statement.endTime).toBeDefined();
      }
    }
  });

  it('traces a COPY-in batch as a statement under its operation', () => {
    const copy = statementsOf(operationSpan('analytics.trackMany')).find(
      (span) => span.attributes['db.operation.name'] === 'COPY',
    );
    expect(copy, 'COPY span under analytics.trackMany').toBeDefined();
  });

  it('names the statement, its table and its row count', () => {
    const list = operationSpan('users.list');
    const select = childrenOf(list).find((span) => span.attributes['db.operation.name'] === 'SELECT');
    expect(select?.name).toBe('SELECT carebase.users');
    expect(select?.attributes['db.collection.name']).toBe('carebase.users');
    expect(select?.attributes['db.response.returned_rows']).toBe(1);
    expect(list.attributes['carebase.result.count']).toBe(1);
    const insert = statementsOf(operationSpan('audit.log')).find(
      (span) => span.attributes['db.operation.name'] === 'INSERT',
    );
    expect(insert?.name).toBe('INSERT carebase.audit_log');
    expect(insert?.attributes['db.response.returned_rows'] ?? 1).toBe(1);
    // A WITH statement is named by its top-level command and the first table it names.
    const appends = exporter.getFinishedSpans().filter((span) => span.name === 'carebase chat.append');
    expect(appends).toHaveLength(2);
    expect(statementsOf(appends[1] as ReadableSpan).map((span) => span.name)).toEqual([
      'SELECT carebase.conversations',
    ]);
  });

  it('nests the SQL of a transaction under it, BEGIN to COMMIT, and the inner call as well', () => {
    const transaction = operationSpan('transaction');
    const operations = childrenOf(transaction).map(
      (span) => span.attributes['db.operation.name'] ?? span.name,
    );
    expect(operations[0]).toBe('BEGIN');
    expect(operations.at(-1)).toBe('COMMIT');
    const inner = childrenOf(transaction).find((span) => span.name === 'carebase users.findByEmail');
    expect(inner).toBeDefined();
    expect(childrenOf(inner as ReadableSpan).length).toBeGreaterThan(0);
  });

  it('marks a failed operation and its statement with codes only', () => {
    const failed = exporter
      .getFinishedSpans()
      .filter((span) => span.name === 'carebase users.create' && span.status.code === 2);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.attributes['error.type']).toBe('CONFLICT');
    const statement = childrenOf(failed[0] as ReadableSpan).find((span) => span.status.code === 2);
    expect(statement?.attributes['db.response.status_code']).toBe('23505');
    expect(statement?.attributes['error.type']).toBe('CONFLICT');
    expect(statement?.status.message).toBe('CONFLICT');
  });

  it('carries no parameter value or content in any span', () => {
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThan(20);
    for (const span of spans) {
      const text = exported(span);
      for (const secret of secrets()) expect(text, `span ${span.name}`).not.toContain(secret);
    }
  });
});

describe('onQuery', () => {
  it('reports every statement with its text, timing, rows and operation', () => {
    expect(events.length).toBeGreaterThan(20);
    const validate = events.find((event) => event.carebaseOperation === 'sessions.validate');
    expect(validate).toMatchObject({ level: 'query', operation: 'SELECT', rowCount: 1 });
    expect(validate?.sql).toContain('$1');
    expect(validate?.durationMs).toBeGreaterThanOrEqual(0);
    const escapeHatch = events.find((event) => event.sql.includes('as echoed'));
    expect(escapeHatch).toMatchObject({ carebaseOperation: undefined, rowCount: 1 });
    const failed = events.find(
      (event) => event.level === 'error' && event.carebaseOperation === 'users.create',
    );
    expect(failed?.error).toEqual({ code: 'CONFLICT', sqlState: '23505' });
    expect(failed?.carebaseOperation).toBe('users.create');
  });

  it('carries no parameter value or content', () => {
    const text = JSON.stringify(events);
    for (const secret of secrets()) expect(text).not.toContain(secret);
  });

  it('survives a hook that throws', async () => {
    await using noisy = createCarebase({
      connectionString: database.url,
      onQuery: () => {
        throw new Error('hook failed');
      },
    });
    expect(await noisy.users.findByEmail(EMAIL)).toBeDefined();
  });
});
