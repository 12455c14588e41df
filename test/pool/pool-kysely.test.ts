import { type Carebase, CarebaseError, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { CamelCasePlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../support/rejection.js';

/**
 * `cb.db` runs a single statement outside a transaction on a pooled connection directly, past
 * Kysely's driver layers (`src/pool/pool-kysely.ts`). These tests hold it to what Kysely's own
 * PostgresDialect gives: the same result shapes, plugins that transform results still applied,
 * transactions and `connection()` on one connection, abort signals honoured, typed errors.
 */
let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  cb = createCarebase({ connectionString: database.url, pool: { max: 3 } });
  await sql`create table kv (k text primary key, v int not null)`.execute(cb.db);
});

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

describe('cb.db single statements', () => {
  it('return Kysely result shapes: rows, and numAffectedRows as a bigint for writes only', async () => {
    const inserted = await sql`insert into kv (k, v) values ('a', 1), ('b', 2)`.execute(cb.db);
    expect(inserted.numAffectedRows).toBe(2n);
    expect(inserted.rows).toEqual([]);
    const updated = await sql`update kv set v = v + 10 where k = ${'a'}`.execute(cb.db);
    expect(updated.numAffectedRows).toBe(1n);
    const selected = await sql<{ k: string; v: number }>`select k, v from kv order by k`.execute(cb.db);
    expect(selected.rows).toEqual([
      { k: 'a', v: 11 },
      { k: 'b', v: 2 },
    ]);
    expect('numAffectedRows' in selected).toBe(false);
    const deleted = await sql`delete from kv where k = ${'b'}`.execute(cb.db);
    expect(deleted.numAffectedRows).toBe(1n);
  });

  it('still apply a plugin that transforms results (withPlugin, per query)', async () => {
    const camel = cb.db.withPlugin(new CamelCasePlugin());
    const { rows } = await sql<{ someValue: number }>`select 7 as some_value`.execute(camel);
    expect(rows).toEqual([{ someValue: 7 }]);
    const perQuery = await sql<{ someValue: number }>`select 8 as some_value`
      .withPlugin(new CamelCasePlugin())
      .execute(cb.db);
    expect(perQuery.rows).toEqual([{ someValue: 8 }]);
  });

  it('fail with a typed carebase error, and the pool goes on', async () => {
    const error = await failure(sql`insert into kv (k, v) values ('a', 1)`.execute(cb.db));
    expect(error).toBeInstanceOf(CarebaseError);
    expect((error as CarebaseError).code).toBe('CONFLICT');
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kv`.execute(cb.db);
    expect(rows[0]?.n).toBe(1);
  });

  it("keep the caller's frames in the stack of a server error, through cb.db and carebase's own statements", async () => {
    async function hostCallSite(): Promise<unknown> {
      return await failure(sql`select * from no_such_table`.execute(cb.db));
    }
    async function hostRepositoryCallSite(): Promise<unknown> {
      // This database is not migrated: the prepared lookup fails on the server (42P01).
      return await failure(cb.users.findById('7c9e6679-7425-40de-944b-e07fc1f90ae7'));
    }
    const direct = (await hostCallSite()) as Error;
    expect(direct).toBeInstanceOf(CarebaseError);
    expect(direct.stack).toContain('hostCallSite');
    const repository = (await hostRepositoryCallSite()) as Error;
    expect(repository).toBeInstanceOf(CarebaseError);
    expect(repository.stack).toContain('hostRepositoryCallSite');
  });

  it('honour an abort signal: a sleeping statement is cancelled on the server (cancel query)', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const pending = sql`select pg_sleep(5)`.execute(cb.db, {
      signal: controller.signal,
      inflightQueryAbortStrategy: 'cancel query',
    });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(3000);
    // The cancelled backend is free again: nothing still sleeps.
    await expect
      .poll(
        async () =>
          (
            await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
              where query = 'select pg_sleep(5)' and state = 'active'`.execute(cb.db)
          ).rows[0]?.n,
        { timeout: 5000 },
      )
      .toBe(0);
  });
});

describe('cb.db transactions and connections', () => {
  it('run every statement of a transaction on one connection, and roll back on a throw', async () => {
    const pids = new Set<number>();
    const thrown = await failure(
      cb.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 5; i++) {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          pids.add(rows[0]?.pid as number);
        }
        await sql`insert into kv (k, v) values ('t', 1)`.execute(trx);
        throw new Error('roll back');
      }),
    );
    expect((thrown as Error).message).toBe('roll back');
    expect(pids.size).toBe(1);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kv where k = 't'`.execute(cb.db);
    expect(rows[0]?.n).toBe(0);
  });

  it('commit a transaction, with savepoints of a controlled transaction', async () => {
    const trx = await cb.db.startTransaction().execute();
    await sql`insert into kv (k, v) values ('c1', 1)`.execute(trx);
    const savepoint = await trx.savepoint('before_c2').execute();
    await sql`insert into kv (k, v) values ('c2', 2)`.execute(savepoint);
    await savepoint.rollbackToSavepoint('before_c2').execute();
    await trx.commit().execute();
    const { rows } = await sql<{ k: string }>`select k from kv where k like 'c%' order by k`.execute(cb.db);
    expect(rows).toEqual([{ k: 'c1' }]);
  });

  it('keep one connection for connection(), whose session settings do not leak to the pool', async () => {
    await cb.db.connection().execute(async (connection) => {
      await sql`set application_name = 'pool_kysely_test'`.execute(connection);
      const { rows } = await sql<{
        name: string;
      }>`select current_setting('application_name') as name`.execute(connection);
      expect(rows[0]?.name).toBe('pool_kysely_test');
      await sql`reset application_name`.execute(connection);
    });
  });
});

describe('cb.db.destroy()', () => {
  it('ends the pool even when only single statements ran; later calls fail with ClosedError', async () => {
    const other = createCarebase({ connectionString: database.url, pool: { max: 2 } });
    try {
      await sql`select 1`.execute(other.db);
      await other.db.destroy();
      expect(other.pool.ended || other.pool.ending).toBe(true);
      const error = await failure(sql`select 1`.execute(other.db));
      expect((error as CarebaseError).code).toBe('CLOSED');
    } finally {
      await other.close();
    }
  });
});
