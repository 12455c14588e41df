import { createCarebase, type Logger } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery } from '../support/database.js';

const PASSWORD = 'logger-test-Pa55word';
const PARAM = 'param-value-that-must-not-be-logged';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
});

afterAll(async () => {
  await database?.drop();
});

function capture(): { logger: Logger; records: { level: string; obj: unknown; msg: string | undefined }[] } {
  const records: { level: string; obj: unknown; msg: string | undefined }[] = [];
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      records.push({ level, obj, msg });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, records };
}

describe('the logger', () => {
  it('is silent by default and receives pino-style (obj, msg) calls without secrets or parameters', async () => {
    const { logger, records } = capture();
    const url = new URL(database.url);
    url.password = PASSWORD; // trust auth ignores it; it must still never be logged
    const cb = createCarebase({ connectionString: url.toString(), logger });
    try {
      await sql`select ${PARAM}::text`.execute(cb.db);
      // An idle pooled connection that dies is logged at warn and dropped.
      await adminQuery(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
        [database.name],
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Serialization retries are logged at debug, with the SQLSTATE only.
      await sql`create table t (id int primary key, n int)`.execute(cb.db);
      await sql`insert into t values (1, 0), (2, 0)`.execute(cb.db);
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const skew = (read: number, write: number) =>
        cb.transaction(
          async (tx) => {
            await sql`select n from t where id = ${read}`.execute(tx.db);
            await gate;
            await sql`update t set n = n + 1 where id = ${write}`.execute(tx.db);
          },
          { isolation: 'serializable', retries: 5 },
        );
      const both = Promise.all([skew(1, 2), skew(2, 1)]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      await both;
    } finally {
      await cb.close();
    }
    expect(records.some((record) => record.level === 'warn')).toBe(true);
    expect(
      records.some((record) => record.level === 'debug' && JSON.stringify(record.obj).includes('40001')),
    ).toBe(true);
    const printed = JSON.stringify(records);
    expect(printed).not.toContain(PASSWORD);
    expect(printed).not.toContain(PARAM);
  });
});
