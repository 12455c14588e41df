import { MigrationError } from 'carebase';
import { fileMigrations, migrate, rollback } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder({
    '0001_tables.sql': 'create table numbers (n int primary key);\n-- carebase:down\ndrop table numbers;',
    '0002_backfill.mjs': [
      'export async function up(db) {',
      "  await db.query('insert into numbers select g from generate_series(1, $1::int) g', [10]);",
      '}',
      'export async function down(db) {',
      "  await db.query('delete from numbers where n <= 10');",
      '}',
    ].join('\n'),
    'helpers.mjs': "throw new Error('a helper, not a migration: never imported');",
    'types.d.ts': 'export {};',
    '0003_typed.ts': [
      'interface Db { query(text: string, values?: readonly unknown[]): Promise<{ rows: unknown[] }> }',
      'export const transaction = false;',
      'export async function up(db: Db): Promise<void> {',
      "  await db.query('create index concurrently numbers_n_idx on numbers (n)');",
      '}',
    ].join('\n'),
  });
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

const app = () => fileMigrations(folder.dir, { namespace: 'app' });

async function count(): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>('select count(*)::int as n from numbers')).rows[0]?.n ?? -1;
  } finally {
    await client.end();
  }
}

describe('code migrations (.mjs, .ts) in a host folder', () => {
  it('run up(db) on the migration connection, in or outside a transaction', async () => {
    const { plan, results } = await migrate(database.url, { sources: [app()], includeLibrary: false });
    expect(plan.map((step) => [step.name, step.transaction])).toEqual([
      ['0001_tables', true],
      ['0002_backfill', true],
      ['0003_typed', false],
    ]);
    expect(results.map((result) => result.status)).toEqual(['applied', 'applied', 'applied']);
    expect(await count()).toBe(10);
  });

  it('a throwing up(db) rolls back its writes, records nothing, and names the migration', async () => {
    folder.write(
      '0004_throws.mjs',
      "export async function up(db) { await db.query('insert into numbers values (99)'); throw new Error('boom'); }",
    );
    const error = await migrate(database.url, { sources: [app()], includeLibrary: false }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('0004_throws');
    expect((error as MigrationError).message).toContain('code migration 0004_throws threw Error');
    expect(await count()).toBe(10);
    folder.delete('0004_throws.mjs');
  });

  it('rollback runs down(db), and refuses a code migration without one', async () => {
    await expect(rollback(database.url, { source: app() })).rejects.toThrow(
      'cannot roll back app/0003_typed: it exports no down(db)',
    );
    folder.write(
      '0003_typed.ts',
      'export const transaction = false;\nexport async function up() {}\nexport async function down() {}\n',
    );
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const source = fileMigrations(folder.dir, { namespace: 'app', onDrift: 'warn' });
    // A code migration's down cannot be read: rolling it back needs allowDataLoss.
    await expect(rollback(database.url, { source, steps: 2, logger })).rejects.toThrow(
      'app/0003_typed unknown effect (a code migration: its effect cannot be read)',
    );
    await rollback(database.url, { source, steps: 2, logger, allowDataLoss: true });
    expect(await count()).toBe(0);
  });
});
