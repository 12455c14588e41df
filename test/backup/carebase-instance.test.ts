import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCarebase, isCarebaseError } from 'carebase';
import { createBackup, listBackups } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump, tempDir } from '../support/backup.js';

let database: TestDatabase;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  dir = await tempDir();
});

afterAll(async () => {
  await database?.drop();
  await dir?.remove();
});

describeWithPgDump('cb.backups', { timeout: 180_000 }, () => {
  it('creates, lists, verifies and prunes in the instance backupDir, with its schema version', async () => {
    await using cb = createCarebase({
      connectionString: database.url,
      backupDir: dir.path,
      schema: 'cb_app',
    });
    await cb.migrate();
    const backup = await cb.backups.create({ name: 'from-instance' });
    expect(backup.path).toBe(join(dir.path, 'from-instance.dump'));
    expect(backup.manifest.carebaseSchema).toBe('cb_app');
    const applied = await cb.db.selectFrom('schema_migrations').select('name').orderBy('name').execute();
    expect(applied.length).toBeGreaterThan(0);
    expect(backup.manifest.carebaseSchemaVersion).toBe(applied.at(-1)?.name);
    expect(backup.manifest.tables['cb_app.schema_migrations']).toBe(applied.length);

    const viaFunction = await createBackup({ carebase: cb, name: 'via-function' });
    expect(viaFunction.path).toBe(join(dir.path, 'via-function.dump'));

    // A file still being written is never listed.
    await writeFile(join(dir.path, 'in-progress.dump.partial'), 'x');
    const { items } = await cb.backups.list();
    expect(items.map((item) => item.name)).toEqual(['via-function.dump', 'from-instance.dump']);
    const page = await cb.backups.list({ limit: 1 });
    expect(page.items.map((item) => item.name)).toEqual(['via-function.dump']);
    expect(page.nextCursor).toBe('via-function.dump');
    const next = await listBackups({ dir: dir.path, limit: 1, cursor: page.nextCursor });
    expect(next).toMatchObject({ items: [{ name: 'from-instance.dump' }], nextCursor: undefined });

    expect((await cb.backups.verify(backup.path)).ok).toBe(true);
    const pruned = await cb.backups.prune({ keepLast: 1, maxAgeDays: 0, dryRun: true });
    expect(pruned.deleted.map((entry) => entry.name)).toEqual(['from-instance.dump']);
  });

  it('validates options before connecting', async () => {
    const bad = await createBackup({ connectionString: database.url, compression: 12 }).catch(
      (e: unknown) => e,
    );
    expect(isCarebaseError(bad, 'VALIDATION_FAILED')).toBe(true);
    expect((bad as { field?: string }).field).toBe('compression');
    const unknown = await createBackup({ connectionString: database.url, kepLast: 3 } as never).catch(
      (e: unknown) => e,
    );
    expect(isCarebaseError(unknown, 'VALIDATION_FAILED')).toBe(true);
    const badName = await createBackup({ connectionString: database.url, name: '../escape' }).catch(
      (e: unknown) => e,
    );
    expect(isCarebaseError(badName, 'VALIDATION_FAILED')).toBe(true);
  });
});

describeWithPgDump('backup functions take configFromEnv() as it is', { timeout: 180_000 }, () => {
  it('accepts its pool options (ignored but for the connect timeout and application name)', async () => {
    const { configFromEnv } = await import('carebase');
    const options = configFromEnv({
      DATABASE_URL: database.url,
      DB_POOL_MAX: '4',
      DB_POOL_MIN: '1',
      BACKUP_DIR: dir.path,
    });
    expect(options.pool).toBeDefined();
    const backup = await createBackup({ ...options, name: 'from-env' });
    expect(backup.path).toBe(join(dir.path, 'from-env.dump'));
    const { items } = await listBackups(options);
    expect(items.map((item) => item.name)).toContain('from-env.dump');
  });
});
