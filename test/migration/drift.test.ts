import { MigrationError } from 'carebase';
import { fileMigrations, migrate, migrationStatus } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

const ONE = 'create table drift_a (id int primary key);\n\n-- carebase:down\ndrop table drift_a;\n';
const TWO = 'create table drift_b (id int primary key);\n';

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder({ '0001_a.sql': ONE, '0002_b.sql': TWO });
  await migrate(database.url, {
    sources: [fileMigrations(folder.dir, { namespace: 'app' })],
    includeLibrary: false,
  });
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

const app = (onDrift?: 'error' | 'warn') =>
  fileMigrations(folder.dir, onDrift === undefined ? { namespace: 'app' } : { namespace: 'app', onDrift });

describe('drift of applied migrations', () => {
  it('ignores CRLF line endings, trailing whitespace, a BOM and trailing blank lines', async () => {
    folder.write('0001_a.sql', `\uFEFF${ONE.replaceAll('\n', '  \r\n')}\r\n\r\n`);
    folder.write('0002_b.sql', TWO.replaceAll('\n', '\t\n'));
    const [status] = await migrationStatus(database.url, { sources: [app()], includeLibrary: false });
    expect(status).toMatchObject({ changed: [], missing: [], pending: [] });
    await expect(migrate(database.url, { sources: [app()], includeLibrary: false })).resolves.toMatchObject({
      results: [],
    });
  });

  it('stops the run, naming an edited migration, before applying anything', async () => {
    folder.write('0002_b.sql', 'create table drift_b (id bigint primary key);\n');
    folder.write('0003_c.sql', 'create table drift_c (id int);');
    const [status] = await migrationStatus(database.url, { sources: [app()], includeLibrary: false });
    expect(status).toMatchObject({ changed: ['0002_b'], missing: [], pending: ['0003_c'] });
    const error = await migrate(database.url, { sources: [app()], includeLibrary: false }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('0002_b');
    expect((error as MigrationError).message).toContain('app/0002_b was edited after it was applied');
    const [after] = await migrationStatus(database.url, { sources: [app()], includeLibrary: false });
    expect(after?.pending).toEqual(['0003_c']);
  });

  it("with onDrift: 'warn', logs instead and runs", async () => {
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn(_obj: Record<string, unknown>, msg?: string) {
        warnings.push(msg ?? '');
      },
      error() {},
    };
    const { results } = await migrate(database.url, {
      sources: [app('warn')],
      includeLibrary: false,
      logger,
    });
    expect(results.map((result) => result.name)).toEqual(['0003_c']);
    expect(warnings).toEqual(['carebase: migration app/0002_b was edited after it was applied']);
    folder.write('0002_b.sql', TWO);
  });

  it('stops the run, naming an applied migration missing from the source', async () => {
    folder.delete('0001_a.sql');
    const [status] = await migrationStatus(database.url, { sources: [app()], includeLibrary: false });
    expect(status).toMatchObject({ changed: [], missing: ['0001_a'] });
    const error = await migrate(database.url, { sources: [app()], includeLibrary: false }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('0001_a');
    expect((error as MigrationError).message).toContain(
      'app/0001_a was applied but is missing from the source',
    );
    folder.write('0001_a.sql', ONE);
  });
});
