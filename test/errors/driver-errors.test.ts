import { inspect } from 'node:util';
import {
  type Carebase,
  ClosedError,
  ConflictError,
  ConnectionError,
  ConstraintViolationError,
  createCarebase,
  isCarebaseError,
  PoolTimeoutError,
  SerializationFailureError,
  StatementTimeoutError,
  ValidationError,
} from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery } from '../support/database.js';

const SECRET_VALUE = 'patient-7f3a-secret@example.org';

let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' }); // creates its own tables
  cb = createCarebase({ connectionString: database.url, pool: { max: 4 } });
  await sql`create table items (id int primary key, email text not null, qty int check (qty >= 0))`.execute(
    cb.db,
  );
  await sql`create unique index items_email_key on items (lower(email))`.execute(cb.db);
});

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

function expectNoValue(error: unknown): void {
  const printed = `${String(error)}\n${inspect(error, { depth: 10 })}\n${JSON.stringify(error)}`;
  expect(printed).not.toContain(SECRET_VALUE);
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('SQLSTATE mapping against a real server', () => {
  it('maps a unique violation to ConflictError naming the field, without the value', async () => {
    await sql`insert into items values (1, ${SECRET_VALUE}, 1)`.execute(cb.db);
    const error = await caught(
      sql`insert into items values (2, ${SECRET_VALUE.toUpperCase()}, 1)`.execute(cb.db),
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).field).toBe('email');
    expect((error as ConflictError).constraint).toBe('items_email_key');
    expect(isCarebaseError(error, 'CONFLICT')).toBe(true);
    expectNoValue(error);
    expect(inspect(error).toUpperCase()).not.toContain(SECRET_VALUE.toUpperCase());
  });

  it('keeps the caller in the stack trace', async () => {
    async function callerFrameMarker(): Promise<unknown> {
      const error = await caught(sql`insert into items values (1, 'x', 1)`.execute(cb.db));
      return error;
    }
    const error = (await callerFrameMarker()) as Error;
    expect(error.stack).toContain('callerFrameMarker');
  });

  it('maps check and not-null violations to ConstraintViolationError', async () => {
    const check = await caught(sql`insert into items values (3, 'a@b.c', -5)`.execute(cb.db));
    expect(check).toBeInstanceOf(ConstraintViolationError);
    expect((check as ConstraintViolationError).kind).toBe('check');
    const notNull = await caught(sql`insert into items values (4, null, 1)`.execute(cb.db));
    expect((notNull as ConstraintViolationError).kind).toBe('not_null');
    expect((notNull as ConstraintViolationError).column).toBe('email');
  });

  it('maps bad input rejected by the server to ValidationError without the value', async () => {
    const error = await caught(sql`select ${SECRET_VALUE}::uuid`.execute(cb.db));
    expect(error).toBeInstanceOf(ValidationError);
    expectNoValue(error);
  });

  it('maps a statement timeout to StatementTimeoutError', async () => {
    const short = createCarebase({ connectionString: database.url, pool: { statementTimeoutMs: 100 } });
    try {
      const error = await caught(sql`select pg_sleep(2)`.execute(short.db));
      expect(error).toBeInstanceOf(StatementTimeoutError);
      expect(isCarebaseError(error, 'STATEMENT_TIMEOUT')).toBe(true);
    } finally {
      await short.close();
    }
  });

  it('maps a terminated backend to ConnectionError, and the next query succeeds', async () => {
    const running = sql<{ pid: number }>`select pg_sleep(5), pg_backend_pid() as pid`.execute(cb.db);
    const caughtError = caught(running);
    // Find the sleeping backend and terminate it from outside the pool.
    let terminated = false;
    for (let i = 0; i < 50 && !terminated; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const rows = await adminQuery<{ ok: boolean }>(
        `select pg_terminate_backend(pid) as ok from pg_stat_activity
         where datname = $1 and query like 'select pg_sleep(5)%' and pid <> pg_backend_pid()`,
        [database.name],
      );
      terminated = rows.some((row) => row.ok);
    }
    expect(terminated).toBe(true);
    const error = await caughtError;
    expect(error).toBeInstanceOf(ConnectionError);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(cb.db);
    expect(rows[0]?.one).toBe(1);
  });

  it('recovers when an idle pooled connection is terminated', async () => {
    await sql`select 1`.execute(cb.db);
    await adminQuery(
      `select pg_terminate_backend(pid) from pg_stat_activity
       where datname = $1 and application_name = 'carebase' and pid <> pg_backend_pid()`,
      [database.name],
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(cb.db);
    expect(rows[0]?.one).toBe(1);
  });

  it('maps waiting too long for a pooled connection to PoolTimeoutError', async () => {
    const tiny = createCarebase({
      connectionString: database.url,
      pool: { max: 1, connectionTimeoutMs: 200 },
    });
    try {
      const holder = sql`select pg_sleep(1)`.execute(tiny.db);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const error = await caught(sql`select 1`.execute(tiny.db));
      expect(error).toBeInstanceOf(PoolTimeoutError);
      expect(isCarebaseError(error, 'POOL_TIMEOUT')).toBe(true);
      await holder;
    } finally {
      await tiny.close();
    }
  });

  it('maps an unreachable server to ConnectionError', async () => {
    const nowhere = createCarebase({ host: '127.0.0.1', port: 1, pool: { connectionTimeoutMs: 1000 } });
    try {
      const error = await caught(sql`select 1`.execute(nowhere.db));
      expect(error).toBeInstanceOf(ConnectionError);
    } finally {
      await nowhere.close();
    }
  });

  it('maps a serialization failure to SerializationFailureError when retries are exhausted', async () => {
    await sql`create table counters (id int primary key, n int not null)`.execute(cb.db);
    await sql`insert into counters values (1, 0), (2, 0)`.execute(cb.db);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const writeSkew = (read: number, write: number) =>
      cb.transaction(
        async (tx) => {
          await sql`select sum(n) from counters where id = ${read}`.execute(tx.db);
          await gate;
          await sql`update counters set n = n + 1 where id = ${write}`.execute(tx.db);
        },
        { isolation: 'serializable', retries: 0 },
      );
    const both = Promise.allSettled([writeSkew(1, 2), writeSkew(2, 1)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const outcomes = await both;
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(SerializationFailureError);
  });

  it('refuses use after close with ClosedError', async () => {
    const closing = createCarebase({ connectionString: database.url });
    await sql`select 1`.execute(closing.db);
    await closing.close();
    await closing.close();
    const error = await caught(sql`select 1`.execute(closing.db));
    expect(error).toBeInstanceOf(ClosedError);
    await expect(closing.migrate()).rejects.toBeInstanceOf(ClosedError);
    const health = await closing.health();
    expect(health.ok).toBe(false);
    expect(health.error?.code).toBe('CLOSED');
  });
});
