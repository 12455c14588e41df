import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { type CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaPlugin } from '../../src/pool/schema-plugin.js';

/**
 * `cb.db` qualifies carebase's tables with its schema through `SchemaPlugin`, which passes raw
 * statements with only value parameters through untouched and hands everything else to Kysely's
 * own `WithSchemaPlugin`. The schema here is not on the search path, so an unqualified table fails.
 */
const SCHEMA = 'cb_plugin_test';
let database: TestDatabase;
let cb: Carebase;
/** Kysely's own plugin over a pool that is never used: a reference for compiled SQL. */
const reference = new Kysely<Record<string, Record<string, unknown>>>({
  dialect: new PostgresDialect({
    pool: async () => {
      throw new Error('never connects');
    },
  }),
}).withSchema(SCHEMA);

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  cb = createCarebase({ connectionString: database.url, schema: SCHEMA, pool: { max: 2 } });
  await cb.migrate();
  await cb.db
    .insertInto('users')
    .values({ username: 'plugin', email: 'plugin@example.org', password_hash: 'x', role: 'nurse' })
    .execute();
});

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

describe('SchemaPlugin', () => {
  it('compiles every kind of statement exactly as Kysely withSchema does', () => {
    const pairs: [CompiledQuery, CompiledQuery][] = [
      [
        sql`select ${1}::int as one, ${'x'} as two`.compile(cb.db),
        sql`select ${1}::int as one, ${'x'} as two`.compile(reference),
      ],
      [sql`select 1 as one`.compile(cb.db), sql`select 1 as one`.compile(reference)],
      [
        sql`select count(*) from ${sql.table('users')}`.compile(cb.db),
        sql`select count(*) from ${sql.table('users')}`.compile(reference),
      ],
      [
        sql`select n from (${cb.db.selectFrom('users').select('username as n')}) u where ${2} > 1`.compile(
          cb.db,
        ),
        sql`select n from (${reference.selectFrom('users').select('username as n')}) u where ${2} > 1`.compile(
          reference,
        ),
      ],
      [
        cb.db.selectFrom('users').select(['id']).where('username', '=', 'plugin').compile(),
        reference.selectFrom('users').select(['id']).where('username', '=', 'plugin').compile(),
      ],
      [
        cb.db.updateTable('users').set({ display_name: 'P' }).where('username', '=', 'plugin').compile(),
        reference.updateTable('users').set({ display_name: 'P' }).where('username', '=', 'plugin').compile(),
      ],
    ];
    for (const [a, b] of pairs) {
      expect({ sql: a.sql, parameters: a.parameters }).toEqual({ sql: b.sql, parameters: b.parameters });
    }
    // A builder inside raw SQL is qualified: Kysely transforms its node when it is embedded.
    expect(pairs[3]?.[0].sql).toContain(`"${SCHEMA}"."users"`);
  });

  it('passes a raw statement with only value parameters through as the same node, and only that', () => {
    const plugin = new SchemaPlugin(SCHEMA);
    const run = (node: CompiledQuery['query']) =>
      plugin.transformQuery({ node, queryId: { queryId: 'q' } }) === node;
    expect(run(sql`select ${1} as one`.compile(reference).query)).toBe(true);
    expect(run(sql`select 1`.compile(reference).query)).toBe(true);
    expect(run(sql`select * from ${sql.table('users')}`.compile(reference).query)).toBe(false);
    expect(run(sql`select ${sql.ref('id')} from t`.compile(reference).query)).toBe(false);
    expect(run(reference.selectFrom('users').select('id').compile().query)).toBe(false);
  });

  it('runs against the server: raw values, raw SQL around a builder, builders', async () => {
    const { rows } = await sql<{ v: number }>`select ${41}::int + 1 as v`.execute(cb.db);
    expect(rows).toEqual([{ v: 42 }]);
    const nested = await sql<{ n: string }>`select n from (${cb.db
      .selectFrom('users')
      .select('username as n')}) u where ${1} = 1`.execute(cb.db);
    expect(nested.rows).toEqual([{ n: 'plugin' }]);
    const found = await cb.db.selectFrom('users').select('email').where('username', '=', 'plugin').execute();
    expect(found).toEqual([{ email: 'plugin@example.org' }]);
    // Unqualified, the same table is not found: the schema is not on the search path.
    await expect(sql`select count(*) from users`.execute(cb.db)).rejects.toMatchObject({ sqlState: '42P01' });
  });
});
