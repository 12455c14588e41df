import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { inspect, promisify } from 'node:util';
import { createCarebase, isCarebaseError, type Logger } from 'carebase';
import { createBackup, listBackups, restoreBackup, verifyBackup } from 'carebase/backup';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeWithPgDump,
  type PasswordDatabase,
  POPULATE_SQL,
  passwordDatabase,
  tableChecksums,
  tempDir,
} from '../support/backup.js';

const run = promisify(execFile);

let db: PasswordDatabase;
let dir: { path: string; remove(): Promise<void> };
const logLines: string[] = [];
const logger: Logger = {
  debug: (obj, msg) => logLines.push(JSON.stringify([obj, msg])),
  info: (obj, msg) => logLines.push(JSON.stringify([obj, msg])),
  warn: (obj, msg) => logLines.push(JSON.stringify([obj, msg])),
  error: (obj, msg) => logLines.push(JSON.stringify([obj, msg])),
};

beforeAll(async () => {
  db = await passwordDatabase();
  dir = await tempDir();
  await db.query(POPULATE_SQL);
  // carebase's own schema, so the manifest records a carebase schema version.
  await using cb = createCarebase({ connectionString: db.url, pool: { max: 2 } });
  await cb.migrate();
});

afterAll(async () => {
  await db?.drop();
  await dir?.remove();
});

describeWithPgDump('backup -> modify -> restore into a new database', { timeout: 180_000 }, () => {
  it('reproduces every table exactly as it was at backup time, without ever exposing the password', async () => {
    const before = await tableChecksums(db, db.name);
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining([
        'clinic.patients',
        'public.visits_2024',
        'public.Mixed Case',
        'carebase.schema_migrations',
      ]),
    );

    // Watch the process list while pg_dump runs.
    const psLines: string[] = [];
    const childEnvironments: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const { stdout } = await run('ps', ['-eo', 'pid,args', '--no-headers']);
        const lines = stdout
          .split('\n')
          .filter((line) => line.includes('pg_dump') && line.includes(dir.path));
        psLines.push(...lines);
        for (const line of lines) {
          // The child's environment (Linux): a PGPASSFILE, never the password itself.
          const environ = await readFile(`/proc/${line.trim().split(/\s+/)[0]}/environ`, 'utf8').catch(
            () => '',
          );
          if (environ !== '') childEnvironments.push(environ);
        }
        await new Promise((done) => setTimeout(done, 10));
      }
    })();
    const progress: number[] = [];
    const backup = await createBackup({
      connectionString: db.url,
      dir: dir.path,
      logger,
      onProgress: (p) => progress.push(p.bytesWritten),
    });
    watching = false;
    await watcher;

    expect(psLines.some((line) => line.includes('pg_dump'))).toBe(true);
    for (const line of psLines) expect(line).not.toContain(db.password);
    expect(psLines.join('\n')).not.toContain(encodeURIComponent(db.password));
    if (existsSync('/proc/self/environ')) {
      expect(childEnvironments.length).toBeGreaterThan(0);
      for (const environ of childEnvironments) {
        expect(environ).not.toContain(db.password);
        expect(environ).not.toContain('PGPASSWORD=');
        const passfile = environ.split('\0').find((entry) => entry.startsWith('PGPASSFILE='));
        expect(passfile).toBeDefined();
        // The temporary password file is gone once pg_dump has finished.
        expect(existsSync(passfile?.slice('PGPASSFILE='.length) ?? '')).toBe(false);
      }
    }
    expect(progress.at(-1)).toBe(backup.manifest.sizeBytes);

    const { manifest } = backup;
    expect(manifest.database).toBe(db.name);
    const [latest] = await db.query<{ name: string }>(
      "select max(name) as name from carebase.schema_migrations where namespace = 'carebase'",
    );
    expect(latest?.name).toMatch(/^\d{4}_/);
    expect(manifest.carebaseSchemaVersion).toBe(latest?.name);
    expect(manifest.serverVersionNum).toBeGreaterThanOrEqual(140000);
    expect(manifest.pgDumpVersion).toMatch(/^\d+\.\d+/);
    expect(manifest.tables['clinic.patients']).toBe(3000);
    expect((manifest.tables['public.visits_2024'] ?? 0) + (manifest.tables['public.visits_2025'] ?? 0)).toBe(
      5000,
    );
    expect(manifest.tables['public.bulk']).toBe(100_000);
    const archiveInfo = await stat(backup.path);
    expect(archiveInfo.size).toBe(manifest.sizeBytes);
    // Owner-only: backups hold patient data.
    expect(archiveInfo.mode & 0o777).toBe(0o600);
    expect((await stat(backup.manifestPath)).mode & 0o777).toBe(0o600);
    expect(await readFile(backup.manifestPath, 'utf8')).not.toContain(db.password);
    expect((await readdir(dir.path)).filter((name) => name.includes('.partial'))).toEqual([]);

    // Modify the live database after the backup.
    await db.query(
      `update clinic.patients set name = 'changed' where id < 100;
       delete from public.visits where id % 2 = 0;
       insert into public."Mixed Case" values ('new', 3);
       drop table public.empty_table;`,
    );
    expect(await tableChecksums(db, db.name)).not.toEqual(before);

    const verified = await verifyBackup(backup.path, {
      connectionString: db.url,
      trialRestore: true,
      logger,
    });
    expect(verified.problems).toEqual([]);
    expect(verified.checks).toEqual({ manifest: 'ok', checksum: 'ok', archive: 'ok', trialRestore: 'ok' });

    const restored = await restoreBackup(backup.path, { connectionString: db.url, logger });
    db.extraDatabases.push(restored.database);
    expect(restored.mode).toBe('new');
    expect(restored.database).not.toBe(db.name);
    expect(restored.displayUrl).toBe(
      `postgres://${db.role}:***@${db.options.host}:${db.options.port}/${restored.database}`,
    );
    expect(JSON.stringify(restored)).not.toContain(db.password);

    expect(await tableChecksums(db, restored.database)).toEqual(before);
    const [sequence] = await db.query<{ last_value: string }>(
      'select last_value from public.counter',
      restored.database,
    );
    expect(sequence?.last_value).toBe('100');
    // The live database kept its modifications.
    expect(await tableChecksums(db, db.name)).not.toEqual(before);

    // Errors carry no password either: restoring onto an existing database is refused.
    const failure = await restoreBackup(backup.path, {
      connectionString: db.url,
      target: restored.database,
      logger,
    }).catch((error: unknown) => error);
    expect(isCarebaseError(failure, 'BACKUP_FAILED')).toBe(true);
    expect(inspect(failure, { showHidden: true, depth: 10 })).not.toContain(db.password);

    for (const line of logLines) {
      expect(line).not.toContain(db.password);
      expect(line).not.toContain(encodeURIComponent(db.password));
    }
    expect(logLines.some((line) => line.includes('backup created'))).toBe(true);

    const { items } = await listBackups({ dir: dir.path });
    expect(items.map((item) => [item.name, item.status, item.verified])).toEqual([
      [manifest.archive, 'ok', true],
    ]);
  });
});
