import { AbortError, MigrationError, ValidationError } from 'carebase';
import {
  carebaseMigrations,
  fileMigrations,
  type MigrationProgress,
  migrate,
  migrationChecksum,
} from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

let database: TestDatabase;
let folder: MigrationFolder;

const FILES = {
  '0001_a.sql': 'create table opt_a (id int);',
  '0002_b.sql': '-- carebase:no-transaction\ncreate index concurrently opt_a_idx on opt_a (id);',
  '0003_c.sql': 'create table opt_c (id int);',
};

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder(FILES);
});

afterAll(async () => {
  folder?.remove();
  await database?.drop();
});

const app = () => fileMigrations(folder.dir, { namespace: 'app' });

async function appliedCount(): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "select count(*)::int as n from carebase.schema_migrations where namespace = 'app'",
    );
    return rows[0]?.n ?? 0;
  } catch {
    return 0;
  } finally {
    await client.end();
  }
}

describe('migrate options', () => {
  it('dryRun returns a JSON plan (names, checksums, transaction mode) and executes nothing', async () => {
    const { plan, results } = await migrate(database.url, {
      sources: [app()],
      includeLibrary: false,
      dryRun: true,
    });
    expect(results).toEqual([]);
    expect(JSON.parse(JSON.stringify(plan))).toEqual([
      {
        namespace: 'app',
        name: '0001_a',
        direction: 'up',
        checksum: migrationChecksum(FILES['0001_a.sql']),
        transaction: true,
      },
      {
        namespace: 'app',
        name: '0002_b',
        direction: 'up',
        checksum: migrationChecksum(FILES['0002_b.sql']),
        transaction: false,
      },
      {
        namespace: 'app',
        name: '0003_c',
        direction: 'up',
        checksum: migrationChecksum(FILES['0003_c.sql']),
        transaction: true,
      },
    ]);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query("select to_regnamespace('carebase') as schema");
    await client.end();
    expect(rows).toEqual([{ schema: null }]);
  });

  it('to stops after the named migration (by name or namespace/name) and reports progress', async () => {
    const events: MigrationProgress[] = [];
    const { results } = await migrate(database.url, {
      sources: [app()],
      includeLibrary: false,
      to: 'app/0001_a',
      onProgress: (progress) => events.push(progress),
    });
    expect(results.map((result) => result.name)).toEqual(['0001_a']);
    expect(events).toEqual([
      { namespace: 'app', name: '0001_a', direction: 'up', phase: 'start', index: 0, total: 1 },
      { namespace: 'app', name: '0001_a', direction: 'up', phase: 'done', index: 0, total: 1 },
    ]);
    await expect(
      migrate(database.url, { sources: [app()], includeLibrary: false, to: '0009_nope' }),
    ).rejects.toThrow('no source has a migration named 0009_nope');
  });

  it('signal stops the run between migrations with AbortError', async () => {
    const controller = new AbortController();
    const error = await migrate(database.url, {
      sources: [app()],
      includeLibrary: false,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.phase === 'done') controller.abort();
      },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AbortError);
    expect(await appliedCount()).toBe(2);
    await expect(
      migrate(database.url, { sources: [app()], includeLibrary: false, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
  });

  it('fails clearly when another runner holds the lock longer than lockTimeoutMs', async () => {
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock(hashtext('carebase.migrate'), hashtext('carebase:app'))");
      const started = Date.now();
      const error = await migrate(database.url, {
        sources: [app()],
        includeLibrary: false,
        lockTimeoutMs: 300,
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).message).toMatch(
        /^timed out after 300 ms waiting for the migration lock of carebase\/app/,
      );
      expect(Date.now() - started).toBeLessThan(3000);
      // Another namespace is not blocked by this one's lock.
      await expect(
        migrate(database.url, { sources: [carebaseMigrations], lockTimeoutMs: 0 }),
      ).resolves.toBeTruthy();
    } finally {
      await holder.end();
    }
    const { results } = await migrate(database.url, {
      sources: [app()],
      includeLibrary: false,
      lockTimeoutMs: 0,
    });
    expect(results.map((result) => result.name)).toEqual(['0003_c']);
  });

  it('rejects bad options with ValidationError before any SQL', async () => {
    const unreachable = 'postgres://nobody@127.0.0.1:1/none';
    await expect(migrate(unreachable, { lockTimeoutMs: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(migrate(unreachable, { schema: 'Bad Schema' })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      migrate(unreachable, { sources: [app(), app()], includeLibrary: false }),
    ).rejects.toBeInstanceOf(ValidationError);
    // @ts-expect-error unknown option
    await expect(migrate(unreachable, { dryrun: true })).rejects.toBeInstanceOf(ValidationError);
  });
});
