import { isCarebaseError, MigrationError } from 'carebase';
import { fileMigrations, migrate } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder();
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

async function query<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('-- carebase:no-transaction migrations', () => {
  it('run CREATE INDEX CONCURRENTLY (several statements) and ALTER TYPE ADD VALUE used by the next migration', async () => {
    folder.write(
      '0001_tables.sql',
      "create type mood as enum ('calm'); create table visits (id int primary key, note text, mood mood);",
    );
    folder.write(
      '0002_indexes.sql',
      [
        '-- carebase:no-transaction',
        "-- a comment with a semicolon; and a 'quote",
        'create index concurrently visits_note_idx on visits (note);',
        "create index concurrently visits_upper_idx on visits ((upper(note || ';')));",
        '-- carebase:down',
        'drop index concurrently visits_upper_idx;',
        'drop index concurrently visits_note_idx;',
      ].join('\n'),
    );
    folder.write('0003_enum.sql', "-- carebase:no-transaction\nalter type mood add value 'tense';\n");
    folder.write('0004_use_enum.sql', "insert into visits values (1, 'x', 'tense');");
    folder.write(
      '0005_function.sql',
      [
        '-- carebase:no-transaction',
        '/* a block /* nested */ comment; */',
        'create function note_label(n text) returns text language plpgsql immutable as $body$',
        "begin return 'note; ' || n || $$;$$; end",
        '$body$;',
        "create index concurrently visits_label_idx on visits (note_label(note)) where note <> E'x\\';y';",
      ].join('\n'),
    );
    const { results, plan } = await migrate(database.url, {
      sources: [fileMigrations(folder.dir, { namespace: 'app' })],
      includeLibrary: false,
    });
    expect(plan.map((step) => [step.name, step.transaction])).toEqual([
      ['0001_tables', true],
      ['0002_indexes', false],
      ['0003_enum', false],
      ['0004_use_enum', true],
      ['0005_function', false],
    ]);
    expect(results.map((result) => result.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    const indexes = await query<{ name: string; valid: boolean }>(
      `select c.relname as name, i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
       where i.indrelid = 'visits'::regclass and not i.indisprimary order by 1`,
    );
    expect(indexes).toEqual([
      { name: 'visits_label_idx', valid: true },
      { name: 'visits_note_idx', valid: true },
      { name: 'visits_upper_idx', valid: true },
    ]);
    expect(await query('select mood::text, note_label(note) as label from visits')).toEqual([
      { mood: 'tense', label: 'note; x;' },
    ]);
    // Session settings the runner changed for the migration are reset afterwards.
  });

  it('refuses CREATE INDEX CONCURRENTLY in a transactional migration with the server message, recording nothing', async () => {
    const other = migrationFolder({
      '0001_bad.sql': 'create table t (a int);\ncreate index concurrently t_a_idx on t (a);',
    });
    try {
      const error = await migrate(database.url, {
        sources: [fileMigrations(other.dir, { namespace: 'bad' })],
        includeLibrary: false,
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MigrationError);
      expect(isCarebaseError(error, 'MIGRATION_FAILED')).toBe(true);
      const failed = error as MigrationError;
      expect(failed.migration).toBe('0001_bad');
      expect(failed.message).toContain('bad/0001_bad');
      expect(failed.message).toMatch(/cannot run inside a transaction block/);
      expect(failed.results).toMatchObject([
        { name: '0001_bad', status: 'failed', error: { sqlState: '25001' } },
      ]);
      expect(await query("select to_regclass('public.t') as t")).toEqual([{ t: null }]);
      expect(
        await query("select count(*)::int as n from carebase.schema_migrations where namespace = 'bad'"),
      ).toEqual([{ n: 0 }]);
    } finally {
      other.remove();
    }
  });
});
