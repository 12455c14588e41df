import { createCarebase, isCarebaseError } from 'carebase';
import { createBackup, dropPreviousDatabase, restoreBackup } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump, tempDir } from '../support/backup.js';
import { adminQuery, urlFor } from '../support/database.js';

let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };
const created: string[] = [];

async function query<R extends pg.QueryResultRow>(text: string, db = database.name): Promise<R[]> {
  const client = new pg.Client({ connectionString: urlFor(db) });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

async function databasesLike(prefix: string): Promise<string[]> {
  const rows = await adminQuery<{ datname: string }>(
    'select datname from pg_database where datname like $1 order by 1',
    [`${prefix}%`],
  );
  return rows.map((row) => row.datname);
}

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = await tempDir();
  await query(
    "create table items (id int primary key, label text); insert into items values (1, 'one'), (2, 'two')",
  );
});

afterAll(async () => {
  for (const name of created) await adminQuery(`drop database if exists "${name}" with (force)`);
  await database?.drop();
  await dir?.remove();
});

describeWithPgDump("restoreBackup({ mode: 'replace' })", { timeout: 180_000 }, () => {
  it('refuses while the live database has sessions, then swaps in by rename when told to terminate them', async () => {
    const backup = await createBackup({ connectionString: database.url, dir: dir.path });
    await query("update items set label = 'changed'; insert into items values (3, 'three')");

    const holder = new pg.Client({ connectionString: database.url });
    holder.on('error', () => {});
    await holder.connect();

    const refused = await restoreBackup(backup.path, {
      connectionString: database.url,
      mode: 'replace',
    }).catch((e: unknown) => e);
    expect(isCarebaseError(refused, 'BACKUP_FAILED')).toBe(true);
    expect((refused as Error).message).toContain('active connections');
    // Nothing created, the live database untouched.
    expect(await databasesLike(`${database.name}_`)).toEqual([]);
    expect(await query('select count(*)::int as n from items')).toEqual([{ n: 3 }]);

    const result = await restoreBackup(backup.path, {
      connectionString: database.url,
      mode: 'replace',
      terminateConnections: true,
    });
    if (result.previousDatabase !== undefined) created.push(result.previousDatabase);
    expect(result.database).toBe(database.name);
    expect(result.previousDatabase).toMatch(new RegExp(`^${database.name}_previous_\\d{8}_\\d{6}$`));
    await expect(holder.query('select 1')).rejects.toThrow();
    await holder.end().catch(() => {});

    // The live name now holds the backup's data; the old data is kept aside.
    expect(await query('select id, label from items order by id')).toEqual([
      { id: 1, label: 'one' },
      { id: 2, label: 'two' },
    ]);
    expect(await query('select count(*)::int as n from items', result.previousDatabase)).toEqual([{ n: 3 }]);
    expect(await databasesLike(`${database.name}_`)).toEqual([result.previousDatabase]);

    // dropPreviousDatabase only drops set-aside databases.
    const wrong = await dropPreviousDatabase(database.name, { connectionString: database.url }).catch(
      (e: unknown) => e,
    );
    expect(isCarebaseError(wrong, 'VALIDATION_FAILED')).toBe(true);
    await dropPreviousDatabase(result.previousDatabase ?? '', { connectionString: database.url });
    expect(await databasesLike(`${database.name}_`)).toEqual([]);
    expect(result.previousDropped).toBe(false);
  });

  it('dropPrevious: drops the old database once the swap is verified', async () => {
    const backup = await createBackup({ connectionString: database.url, dir: dir.path });
    await query("insert into items values (4, 'four')");
    const result = await restoreBackup(backup.path, {
      connectionString: database.url,
      mode: 'replace',
      dropPrevious: true,
    });
    expect(result.previousDropped).toBe(true);
    expect(await databasesLike(`${database.name}_`)).toEqual([]);
    expect(await query('select count(*)::int as n from items')).toEqual([{ n: 2 }]);
  });

  it("cb.backups.restore replaces the instance's own database: drains its pool, which then reads the restored data", async () => {
    await using cb = createCarebase({ connectionString: database.url, backupDir: dir.path });
    const backup = await cb.backups.create({ name: 'own-pool' });
    await query("insert into items values (5, 'five')");
    // The instance now holds idle connections to the live database.
    await Promise.all([1, 2, 3].map(() => sql`select count(*)::int as n from items`.execute(cb.db)));
    const result = await cb.backups.restore(backup.path, { mode: 'replace', dropPrevious: true });
    expect(result.previousDropped).toBe(true);
    expect(await databasesLike(`${database.name}_`)).toEqual([]);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from items`.execute(cb.db);
    expect(rows[0]?.n).toBe(2);
  });

  it('restores into a named new database and refuses an existing target', async () => {
    const backup = await createBackup({ connectionString: database.url, dir: dir.path, name: 'named' });
    const target = `${database.name}_copy`;
    created.push(target);
    const result = await restoreBackup(backup.path, { connectionString: database.url, target });
    expect(result).toMatchObject({ mode: 'new', database: target, previousDatabase: undefined });
    const server = new URL(database.url);
    expect(result.connection).toEqual({
      host: server.hostname,
      port: Number(server.port || 5432),
      user: decodeURIComponent(server.username),
      database: target,
    });
    expect(await query('select count(*)::int as n from items', target)).toEqual([{ n: 2 }]);
    const again = await restoreBackup(backup.path, { connectionString: database.url, target }).catch(
      (e: unknown) => e,
    );
    expect(isCarebaseError(again, 'BACKUP_FAILED')).toBe(true);
    expect((again as Error).message).toContain('already exists');
  });

  it('rejects a malformed target name before touching anything', async () => {
    const error = await restoreBackup(`${dir.path}/none.dump`, {
      connectionString: database.url,
      target: 'x"; drop database postgres; --',
    }).catch((e: unknown) => e);
    expect(isCarebaseError(error, 'VALIDATION_FAILED')).toBe(true);
    expect((error as { field?: string }).field).toBe('target');
  });
});
