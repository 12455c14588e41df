import type { Carebase } from 'carebase';
import { type MigrationSource, parseMigration } from 'carebase/migration';
import { carebaseFixtures, createTestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { dropTemplates } from '../../src/testing/template.js';

const serverUrl = process.env.CAREBASE_TEST_DATABASE_URL as string;
const templatesToDrop = new Set<string>();
// These tests are about the databases themselves (they create tables in public, seed, clone):
// as the owner, the default outside this suite. The app role has its own test below.
process.env.CAREBASE_TEST_ROLE = 'owner';

async function admin<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function databaseOid(name: string): Promise<number | undefined> {
  const rows = await admin<{ oid: number }>('select oid::int as oid from pg_database where datname = $1', [
    name,
  ]);
  return rows[0]?.oid;
}

/** A host source, as a host app's migration folder would be, with its own namespace. */
function hostSource(namespace: string, files: Record<string, string>): MigrationSource {
  return {
    namespace,
    load: async () => Object.entries(files).map(([name, text]) => parseMigration(name, text)),
  };
}

afterAll(async () => {
  for (const name of templatesToDrop) {
    await admin(`alter database "${name}" with is_template false`).catch(() => {});
    await admin(`drop database if exists "${name}" with (force)`);
  }
});

describe('createTestDatabase', () => {
  test("role: 'app' connects as a least-privilege role of its own, dropped with the database", async () => {
    const database = await createTestDatabase({ role: 'app' });
    const role = decodeURIComponent(new URL(database.url).username);
    expect(database.role).toBe('app');
    expect(role).toBe(`${database.name}_app`);
    expect(new URL(database.ownerUrl).username).toBe(new URL(serverUrl).username);
    const { rows } = await sql<{ user: string }>`select current_user as user`.execute(database.db.db);
    expect(rows[0]?.user).toBe(role);
    const refused = await sql`create table carebase.x (id int)`
      .execute(database.db.db)
      .catch((e: unknown) => e);
    expect((refused as { sqlState?: string }).sqlState).toBe('42501');
    expect((await database.db.health()).pendingMigrations).toBe(0);
    await database.drop();
    expect(await admin('select 1 from pg_roles where rolname = $1', [role])).toEqual([]);
  });

  test('clones a fully migrated database; drop() leaves nothing', async () => {
    const database = await createTestDatabase();
    expect(database.name).toMatch(/^carebase_test_[0-9a-f]{12}$/);
    expect(database.template).toMatch(/^carebase_tpl_/);
    const health = await database.db.health();
    expect(health).toMatchObject({ ok: true, pendingMigrations: 0 });
    await database.drop();
    expect(await databaseOid(database.name)).toBeUndefined();
    await database.drop(); // idempotent
  });

  test('reuses the template: a second database comes from the same, untouched template', async () => {
    const first = await createTestDatabase();
    const template = first.template as string;
    const oid = await databaseOid(template);
    const second = await createTestDatabase();
    expect(second.template).toBe(template);
    expect(await databaseOid(template)).toBe(oid);
    // A fresh copy of the module, as in the next run: finds the complete template and reuses it.
    vi.resetModules();
    const fresh = (await import('carebase/testing')) as typeof import('carebase/testing');
    expect(fresh.createTestDatabase).not.toBe(createTestDatabase);
    const third = await fresh.createTestDatabase();
    expect(third.template).toBe(template);
    expect(await databaseOid(template)).toBe(oid);
    await Promise.all([first.drop(), second.drop(), third.drop()]);
  });

  test('rebuilds when the migration set changes, and includes host sources', async () => {
    const v1 = hostSource('host_app', { '0001_notes': 'create table public.notes (id int primary key);' });
    const v2 = hostSource('host_app', {
      '0001_notes': 'create table public.notes (id int primary key);',
      '0002_tags': 'create table public.tags (id int primary key);',
    });
    await using plain = await createTestDatabase();
    await using one = await createTestDatabase({ sources: [v1] });
    await using two = await createTestDatabase({ sources: [v2] });
    for (const database of [one, two]) templatesToDrop.add(database.template as string);
    expect(new Set([plain.template, one.template, two.template]).size).toBe(3);
    const tables = async (database: typeof plain) =>
      (
        await sql<{
          t: string | null;
        }>`select string_agg(tablename, ',' order by tablename) as t from pg_tables where schemaname = 'public'`.execute(
          database.db.db,
        )
      ).rows[0]?.t ?? null;
    expect(await tables(plain)).toBeNull();
    expect(await tables(one)).toBe('notes');
    expect(await tables(two)).toBe('notes,tags');
    // v2 supersedes v1 (same schema and namespaces): the older template is dropped.
    expect(await databaseOid(one.template as string)).toBeUndefined();
    expect(await databaseOid(two.template as string)).toBeDefined();
  });

  test('independent copies racing to build a new template build it once, under the advisory lock', async () => {
    const source = hostSource(`race_${Date.now()}`, { '0001_slow': 'select pg_sleep(0.3);' });
    const copies = [];
    for (let i = 0; i < 3; i++) {
      vi.resetModules();
      copies.push((await import('carebase/testing')) as typeof import('carebase/testing'));
    }
    const databases = await Promise.all(copies.map((copy) => copy.createTestDatabase({ sources: [source] })));
    const template = databases[0]?.template as string;
    templatesToDrop.add(template);
    expect(databases.map((d) => d.template)).toEqual([template, template, template]);
    for (const database of databases) expect((await database.db.health()).pendingMigrations).toBe(0);
    await Promise.all(databases.map((d) => d.drop()));
  });

  test('applies a seed to the template, keyed by seedKey', async () => {
    const seed = (value: string) => async (cb: Carebase) => {
      await sql`create table public.seeded (value text)`.execute(cb.db);
      await sql`insert into public.seeded values (${value})`.execute(cb.db);
    };
    await using a = await createTestDatabase({ seed: seed('a'), seedKey: 'seed-a' });
    await using b = await createTestDatabase({ seed: seed('b'), seedKey: 'seed-b' });
    templatesToDrop.add(a.template as string);
    templatesToDrop.add(b.template as string);
    expect(a.template).not.toBe(b.template);
    const value = async (database: typeof a) =>
      (await sql<{ value: string }>`select value from public.seeded`.execute(database.db.db)).rows;
    expect(await value(a)).toEqual([{ value: 'a' }]);
    expect(await value(b)).toEqual([{ value: 'b' }]);
  });

  test('20 databases created in parallel are each isolated', async () => {
    const databases = await Promise.all(Array.from({ length: 20 }, () => createTestDatabase()));
    try {
      expect(new Set(databases.map((d) => d.name)).size).toBe(20);
      await Promise.all(
        databases.map(async (database, index) => {
          await sql`create table public.probe (value int)`.execute(database.db.db);
          await sql`insert into public.probe values (${index})`.execute(database.db.db);
        }),
      );
      const seen = await Promise.all(
        databases.map(
          async (database) =>
            (await sql<{ value: number }>`select value from public.probe`.execute(database.db.db)).rows,
        ),
      );
      expect(seen).toEqual(databases.map((_, index) => [{ value: index }]));
    } finally {
      await Promise.all(databases.map((database) => database.drop()));
    }
    for (const database of databases) expect(await databaseOid(database.name)).toBeUndefined();
  }, 180_000);

  test('clones even when someone holds a connection to the template', async () => {
    const source = hostSource('busy_template', { '0001_x': 'select 1;' });
    const first = await createTestDatabase({ sources: [source], spares: 0 });
    const template = first.template as string;
    templatesToDrop.add(template);
    await first.drop();
    await admin(`alter database "${template}" with allow_connections true`);
    const intruder = new pg.Client({ connectionString: serverUrl.replace(/\/[^/]*$/, `/${template}`) });
    intruder.on('error', () => {});
    await intruder.connect();
    try {
      await using second = await createTestDatabase({ sources: [source], spares: 0 });
      expect(second.template).toBe(template);
      expect((await second.db.health()).ok).toBe(true);
    } finally {
      await intruder.end().catch(() => {});
      await admin(`alter database "${template}" with allow_connections false`);
    }
  }, 120_000);

  test('keeps a failed test database and prints its URL when keepOnFailure is set', async () => {
    const database = await createTestDatabase({ keepOnFailure: true });
    const printed: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      printed.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await database.drop({ failed: true });
    } finally {
      process.stderr.write = write;
    }
    expect(printed.join('')).toContain(database.url);
    expect(await databaseOid(database.name)).toBeDefined();
    await admin(`drop database "${database.name}" with (force)`);
  });

  test('hands out a spare made in the background when spares are enabled', async () => {
    const source = hostSource(`spares_${Date.now()}`, { '0001_x': 'select 1;' });
    const first = await createTestDatabase({ sources: [source], spares: 1 });
    const template = first.template as string;
    templatesToDrop.add(template);
    const spares = () =>
      admin<{ datname: string; oid: number }>(
        'select datname, oid::int as oid from pg_database where datname like $1 order by oid',
        [`carebase_spare_${template.slice('carebase_tpl_'.length)}_%`],
      );
    const ready = async () => {
      for (let i = 0; i < 300 && (await spares()).length === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      return spares();
    };
    const [spare] = await ready();
    expect(spare).toBeDefined();
    const second = await createTestDatabase({ sources: [source], spares: 1 });
    expect(await databaseOid(second.name)).toBe(spare?.oid);
    expect((await second.db.health()).pendingMigrations).toBe(0);
    // The refill made a new spare; drop it so nothing is left on a shared server.
    const [next] = await ready();
    expect(next?.oid).not.toBe(spare?.oid);
    for (const row of await spares()) await admin(`drop database "${row.datname}"`);
    await Promise.all([first.drop(), second.drop()]);
  });

  test('rebuilds a template dropped behind its back for many concurrent callers of one process', async () => {
    // Another run with other migrations may drop this template as superseded while this process
    // still uses it. Every caller then rebuilds; none may wait forever on the build lock.
    const namespace = `dropped_${Math.random().toString(36).slice(2, 8)}`;
    const sources = [hostSource(namespace, { '0001_t.sql': 'create table dropped_t (id int);' })];
    const first = await createTestDatabase({ sources });
    const template = first.template ?? '';
    templatesToDrop.add(template);
    await first.drop();
    await admin(`alter database "${template}" with is_template false`);
    await admin(`drop database "${template}" with (force)`);
    const again = await Promise.all(Array.from({ length: 6 }, () => createTestDatabase({ sources })));
    expect(new Set(again.map((database) => database.template))).toEqual(new Set([template]));
    await Promise.all(again.map((database) => database.drop()));
  }, 30_000);

  test('dropTemplates drops the chosen templates with their spares and nothing else', async () => {
    // setupPostgres({ keepTemplates: false }) runs it on every template at the end of a run.
    const [keptSource, goneSource] = ['kept', 'gone'].map((name) =>
      hostSource(`${name}_${Date.now()}`, { '0001_x': 'select 1;' }),
    ) as [MigrationSource, MigrationSource];
    const kept = await createTestDatabase({ sources: [keptSource] });
    const gone = await createTestDatabase({ sources: [goneSource], spares: 1 });
    const [keptTemplate, goneTemplate] = [kept.template as string, gone.template as string];
    templatesToDrop.add(keptTemplate);
    templatesToDrop.add(goneTemplate);
    const spares = async () =>
      (
        await admin<{ datname: string }>('select datname from pg_database where datname like $1', [
          `carebase_spare_${goneTemplate.slice('carebase_tpl_'.length)}_%`,
        ])
      ).map((row) => row.datname);
    for (let i = 0; i < 300 && (await spares()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    const spare = (await spares())[0];
    expect(spare).toBeDefined();
    await Promise.all([kept.drop(), gone.drop()]);
    const dropped = await dropTemplates(serverUrl, (name) => name === goneTemplate);
    expect(dropped.sort()).toEqual([goneTemplate, spare].sort());
    expect(await databaseOid(goneTemplate)).toBeUndefined();
    expect(await spares()).toEqual([]);
    expect(await databaseOid(keptTemplate)).toBeDefined();
    // Its next user builds it again.
    await using again = await createTestDatabase({ sources: [goneSource] });
    expect(again.template).toBe(goneTemplate);
    expect((await again.db.health()).pendingMigrations).toBe(0);
  });

  test('creates an empty database with migrate: false', async () => {
    await using database = await createTestDatabase({ migrate: false });
    expect(database.template).toBeUndefined();
    expect((await database.db.health()).pendingMigrations).toBeGreaterThan(0);
  });
});

const it = test.extend(carebaseFixtures());

describe('carebaseFixtures', () => {
  let previous: string | undefined;

  it('hands each test a migrated carebase on its own database', async ({ carebase, testDatabase }) => {
    expect((await carebase.health()).pendingMigrations).toBe(0);
    expect(testDatabase.db).toBe(carebase);
    previous = testDatabase.name;
  });

  it('dropped the previous test database', async ({ testDatabase }) => {
    expect(testDatabase.name).not.toBe(previous);
    expect(await databaseOid(previous as string)).toBeUndefined();
  });
});
