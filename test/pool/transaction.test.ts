import { type Carebase, createCarebase, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let database: TestDatabase;
let cb: Carebase;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' }); // creates its own tables
  cb = createCarebase({ connectionString: database.url, pool: { max: 6 } });
  await sql`create table notes (id int primary key, body text not null)`.execute(cb.db);
  await sql`create table accounts (id int primary key, balance int not null)`.execute(cb.db);
});

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

beforeEach(async () => {
  await sql`truncate notes, accounts`.execute(cb.db);
});

async function count(table: 'notes' | 'accounts'): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(
    cb.db,
  );
  return rows[0]?.n ?? -1;
}

describe('cb.transaction', () => {
  it('commits and returns the callback result', async () => {
    const result = await cb.transaction(async (tx) => {
      await sql`insert into notes values (1, 'a'), (2, 'b')`.execute(tx.db);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await count('notes')).toBe(2);
  });

  it('leaves no rows behind when the callback throws, and rethrows the host error untouched', async () => {
    class HostError extends Error {}
    const failure = new HostError('host failure');
    await expect(
      cb.transaction(async (tx) => {
        await sql`insert into notes values (1, 'a')`.execute(tx.db);
        await sql`insert into accounts values (1, 100)`.execute(tx.db);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await count('notes')).toBe(0);
    expect(await count('accounts')).toBe(0);
  });

  it('leaves no rows behind when a statement fails mid-transaction', async () => {
    await expect(
      cb.transaction(async (tx) => {
        await sql`insert into notes values (1, 'a')`.execute(tx.db);
        await sql`insert into notes values (1, 'duplicate')`.execute(tx.db);
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await count('notes')).toBe(0);
  });

  it('runs a nested transaction in a savepoint', async () => {
    await cb.transaction(async (tx) => {
      await sql`insert into notes values (1, 'outer')`.execute(tx.db);
      await expect(
        tx.transaction(async (inner) => {
          await sql`insert into notes values (2, 'inner')`.execute(inner.db);
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
      await tx.transaction(async (inner) => {
        await sql`insert into notes values (3, 'inner ok')`.execute(inner.db);
      });
    });
    const { rows } = await sql<{ id: number }>`select id from notes order by id`.execute(cb.db);
    expect(rows.map((row) => row.id)).toEqual([1, 3]);
  });

  it('retries conflicting serializable transactions until both succeed', async () => {
    await sql`insert into accounts values (1, 0), (2, 0)`.execute(cb.db);
    let attempts = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Write skew: each reads the other's row and writes its own; serializable forbids both committing.
    const transfer = (read: number, write: number) =>
      cb.transaction(
        async (tx) => {
          attempts++;
          const { rows } = await sql<{
            balance: number;
          }>`select balance from accounts where id = ${read}`.execute(tx.db);
          await gate;
          await sql`update accounts set balance = ${(rows[0]?.balance ?? 0) + 1} where id = ${write}`.execute(
            tx.db,
          );
        },
        { isolation: 'serializable', retries: 5 },
      );
    const both = Promise.all([transfer(1, 2), transfer(2, 1)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await both;
    expect(attempts).toBeGreaterThan(2);
    const { rows } = await sql<{ total: number }>`select sum(balance)::int as total from accounts`.execute(
      cb.db,
    );
    // Serial execution: the second sees the first's write, so the total is 1 + 2 = 3.
    expect(rows[0]?.total).toBe(3);
  });

  it('never retries other errors', async () => {
    let attempts = 0;
    await expect(
      cb.transaction(
        async () => {
          attempts++;
          throw new Error('not retryable');
        },
        { retries: 5 },
      ),
    ).rejects.toThrow('not retryable');
    expect(attempts).toBe(1);
  });

  it('validates its options before running anything', async () => {
    let ran = false;
    await expect(
      cb.transaction(
        async () => {
          ran = true;
        },
        { isolation: 'chaos' as never },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(ran).toBe(false);
  });
});
