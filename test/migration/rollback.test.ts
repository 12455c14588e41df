import { MigrationError, ValidationError } from 'carebase';
import { carebaseMigrations, fileMigrations, migrate, migrationStatus, rollback } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder({
    '0001_a.sql': 'create table rb_a (id int);\n-- carebase:down\ndrop table rb_a;',
    '0002_b.sql': 'create table rb_b (id int);\n-- carebase:down\ndrop table rb_b;',
    '0003_c.sql':
      '-- carebase:no-transaction\ncreate index concurrently rb_b_idx on rb_b (id);\n-- carebase:down\ndrop index concurrently rb_b_idx;',
    '0004_d.sql': 'create table rb_d (id int);\n-- carebase:down\ndrop table rb_d;',
  });
  await migrate(database.url, { sources: [carebaseMigrations, app()] });
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

const app = () => fileMigrations(folder.dir, { namespace: 'app' });

async function exists(...names: string[]): Promise<boolean[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      'select to_regclass(name) is not null as ok from unnest($1::text[]) with ordinality as t(name, n) order by n',
      [names],
    );
    return rows.map((row) => row.ok);
  } finally {
    await client.end();
  }
}

async function appliedNames(): Promise<string[]> {
  const [status] = await migrationStatus(database.url, { sources: [app()], includeLibrary: false });
  return status?.applied.map((row) => row.name) ?? [];
}

describe('rollback', () => {
  it('rolls back one step by default', async () => {
    const { results, plan } = await rollback(database.url, { source: app() });
    expect(plan).toMatchObject([{ name: '0004_d', direction: 'down', transaction: true }]);
    expect(results).toMatchObject([{ name: '0004_d', direction: 'down', status: 'rolled-back' }]);
    expect(await exists('rb_d')).toEqual([false]);
    expect(await appliedNames()).toEqual(['0001_a', '0002_b', '0003_c']);
  });

  it('plans without executing when dryRun is set', async () => {
    const { results, plan } = await rollback(database.url, { source: app(), steps: 2, dryRun: true });
    expect(results).toEqual([]);
    expect(plan.map((step) => [step.name, step.transaction])).toEqual([
      ['0003_c', false],
      ['0002_b', true],
    ]);
    expect(await appliedNames()).toEqual(['0001_a', '0002_b', '0003_c']);
  });

  it('rolls back N steps, newest first, including a no-transaction down', async () => {
    const { results } = await rollback(database.url, { source: app(), steps: 2 });
    expect(results.map((result) => result.name)).toEqual(['0003_c', '0002_b']);
    expect(await exists('rb_b_idx', 'rb_b', 'rb_a')).toEqual([false, false, true]);
    expect(await appliedNames()).toEqual(['0001_a']);
  });

  it('rolls back to a named migration, which stays applied', async () => {
    await migrate(database.url, { sources: [app()], includeLibrary: false });
    const { results } = await rollback(database.url, { source: app(), to: '0001_a' });
    expect(results.map((result) => result.name)).toEqual(['0004_d', '0003_c', '0002_b']);
    expect(await appliedNames()).toEqual(['0001_a']);
    await expect(rollback(database.url, { source: app(), to: '0002_b' })).rejects.toThrow(
      'cannot roll back to app/0002_b: it is not applied',
    );
  });

  it('refuses, before rolling back anything, when a migration in the range has no down section', async () => {
    folder.write('0005_no_down.sql', 'create table rb_e (id int);');
    await migrate(database.url, { sources: [app()], includeLibrary: false });
    const before = await appliedNames();
    const error = await rollback(database.url, { source: app(), steps: 10 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('0005_no_down');
    expect((error as MigrationError).message).toBe(
      'cannot roll back app/0005_no_down: it has no "-- carebase:down" section',
    );
    expect(await appliedNames()).toEqual(before);
    expect(await exists('rb_e', 'rb_d')).toEqual([true, true]);
  });

  it('rolls back the library source only with allowLibraryRollback, and says what it drops otherwise', async () => {
    const [before] = await migrationStatus(database.url);
    const applied = before?.applied.map((migration) => migration.name) ?? [];
    const newest = applied.at(-1);
    // Enough steps to reach 0006_analytics, whatever migrations came after it.
    const steps = applied.length - applied.indexOf('0006_analytics');
    expect(steps).toBeLessThanOrEqual(applied.length);
    const refused = await rollback(database.url, { steps }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(MigrationError);
    expect((refused as MigrationError).message).toContain('without allowLibraryRollback: true');
    expect((refused as MigrationError).message).toContain(
      'carebase/0006_analytics drops carebase.analytics_events (0 rows)',
    );
    const [unchanged] = await migrationStatus(database.url);
    expect(unchanged?.applied.at(-1)?.name).toBe(newest);
    const { results } = await rollback(database.url, { allowLibraryRollback: true });
    expect(results.map((result) => [result.namespace, result.name])).toEqual([['carebase', newest]]);
    await migrate(database.url);
  });

  it('validates its options before any SQL', async () => {
    await expect(rollback('postgres://nobody@127.0.0.1:1/none', { steps: 0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      // @ts-expect-error steps and to are exclusive
      rollback('postgres://nobody@127.0.0.1:1/none', { steps: 1, to: 'x' }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
