import { createCarebase } from 'carebase';
import { carebaseMigrations, fileMigrations, migrate, migrationStatus } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

// One meaning of `sources` everywhere: carebase's own migrations first, then the host's, unless
// `includeLibrary: false`. The host migration here needs carebase.users, so running it without
// the library first fails.

let folder: MigrationFolder;
const scratch: TestDatabase[] = [];
const app = () => fileMigrations(folder.dir, { namespace: 'app' });

beforeAll(() => {
  folder = migrationFolder({
    '0001_profiles.sql':
      'create table public.profiles (user_id uuid primary key references carebase.users (id), bio text);\n-- carebase:down\ndrop table if exists public.profiles;\n',
  });
});

afterAll(async () => {
  folder?.remove();
  for (const database of scratch) await database.drop();
});

async function empty(): Promise<TestDatabase> {
  const database = await createTestDatabase({ migrate: false });
  scratch.push(database);
  return database;
}

describe('sources: library first, everywhere', { timeout: 120_000 }, () => {
  it('cb.migrate({ sources: [app] }) runs carebase first, then the app', async () => {
    const database = await empty();
    await using cb = createCarebase({ connectionString: database.url, pool: { max: 2 } });
    const { results } = await cb.migrate({ sources: [app()] });
    const library = (await carebaseMigrations.load()).map((m) => `carebase/${m.name}`);
    expect(results.map((r) => `${r.namespace}/${r.name}`)).toEqual([...library, 'app/0001_profiles']);
  });

  it('migrate and migrationStatus: the same with or without carebaseMigrations listed; includeLibrary: false runs only the app', async () => {
    const database = await empty();
    const statuses = await migrationStatus(database.url, { sources: [app()] });
    expect(statuses.map((s) => s.namespace)).toEqual(['carebase', 'app']);
    const listed = await migrate(database.url, { sources: [carebaseMigrations, app()], dryRun: true });
    const implicit = await migrate(database.url, { sources: [app()], dryRun: true });
    expect(listed.plan).toEqual(implicit.plan);
    const alone = await migrate(database.url, { sources: [app()], includeLibrary: false }).catch(
      (e: unknown) => e,
    );
    expect((alone as Error).message).toContain('relation "carebase.users" does not exist');
    expect(
      (await migrationStatus(database.url, { sources: [app()], includeLibrary: false })).map(
        (s) => s.namespace,
      ),
    ).toEqual(['app']);
  });

  it('createCarebase({ migrations: { sources } }): cb.migrate() applies them and health() counts them as pending', async () => {
    const database = await empty();
    await using plain = createCarebase({ connectionString: database.url, pool: { max: 2 } });
    await plain.migrate();
    expect(await plain.health()).toMatchObject({ ok: true, pendingMigrations: 0 });
    await using cb = createCarebase({
      connectionString: database.url,
      pool: { max: 2 },
      migrations: { sources: [app()] },
    });
    expect(await cb.health()).toMatchObject({ ok: false, pendingMigrations: 1 });
    const { results } = await cb.migrate();
    expect(results.map((r) => r.name)).toEqual(['0001_profiles']);
    expect(await cb.health()).toMatchObject({ ok: true, pendingMigrations: 0 });
  });

  it('createTestDatabase accepts carebaseMigrations in sources (same template as without it)', async () => {
    await using listed = await createTestDatabase({ sources: [carebaseMigrations, app()] });
    await using implicit = await createTestDatabase({ sources: [app()] });
    expect(listed.template).toBe(implicit.template);
    expect(await implicit.db.health()).toMatchObject({ ok: true, pendingMigrations: 0 });
  });
});
