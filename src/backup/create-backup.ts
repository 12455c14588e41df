import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { AbortError, BackupError } from '../errors/errors.js';
import { describeHolders, maintenanceLockHolders, tryMaintenanceLock } from '../sql/maintenance-lock.js';
import { parseInput } from '../validation/parse-input.js';
import {
  type BackupConnectionOptions,
  BackupConnectionShape,
  childEnvironment,
  onFile,
  openClient,
  resolveBackupConfig,
  resolveBackupDir,
  toBackupFailure,
} from './connection.js';
import {
  ARCHIVE_SUFFIX,
  type BackupManifest,
  hashFile,
  manifestPathFor,
  PARTIAL_SUFFIX,
} from './manifest.js';
import { findPgTools } from './pg-tools.js';
import { runTool } from './run-tool.js';
import { readCarebaseSchemaVersion, readServerInfo } from './server-info.js';
import { assertTablesReadable, countTableRows } from './table-counts.js';

/**
 * Progress of a running backup, reported about four times a second.
 *
 * @example
 * ```ts
 * import { type BackupProgress, createBackup } from 'carebase/backup';
 * const onProgress = (p: BackupProgress): void => {
 *   console.log(
 *     `${p.phase}: ${(p.bytesWritten / 1e6).toFixed(1)} MB after ${Math.round(p.elapsedMs / 1000)} s`,
 *   );
 * };
 * await createBackup({ carebase: cb, onProgress });
 * ```
 */
export interface BackupProgress {
  readonly phase: 'dumping' | 'checksumming' | 'done';
  /** Bytes of archive written so far (pg_dump reports no progress of its own). */
  readonly bytesWritten: number;
  readonly elapsedMs: number;
}

/**
 * Validates {@link createBackup}'s options (connection fields plus the backup's own).
 *
 * @example
 * ```ts
 * import { CreateBackupOptionsSchema } from 'carebase/backup';
 * // An admin endpoint takes a name and compression level; bad input is refused before pg_dump starts.
 * const parsed = CreateBackupOptionsSchema.pick({ name: true, compression: true }).safeParse(req.body);
 * if (parsed.success) res.json(await cb.backups.create(parsed.data));
 * else res.status(400).json({ fields: parsed.error.issues.map((issue) => issue.path.join('.')) });
 * ```
 */
export const CreateBackupOptionsSchema = z.strictObject({
  ...BackupConnectionShape,
  /** Directory to write into. @default `backupDir` (env `BACKUP_DIR`), else `./backups` */
  dir: z.string().min(1).optional(),
  /** Base file name (no directory, no extension). @default `<database>-<UTC timestamp>` */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'must be letters, digits, dot, dash or underscore')
    .optional(),
  /** pg_dump compression level, 0 (none) to 9. @default pg_dump's default */
  compression: z.number().int().min(0).max(9).optional(),
  /** Look for pg_dump only here. @default env `PG_BIN_DIR`, else the usual places */
  binDir: z.string().min(1).optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal').optional(),
  onProgress: z
    .custom<(progress: BackupProgress) => void>((value) => typeof value === 'function', 'must be a function')
    .optional(),
});

/**
 * Options of {@link createBackup}.
 *
 * @example
 * ```ts
 * import { type CreateBackupOptions, createBackup } from 'carebase/backup';
 * const options: CreateBackupOptions = {
 *   carebase: cb,
 *   dir: '/var/backups/app',
 *   name: 'before-upgrade',
 *   signal: AbortSignal.timeout(30 * 60_000),
 * };
 * await createBackup(options);
 * ```
 */
export interface CreateBackupOptions extends BackupConnectionOptions {
  readonly dir?: string | undefined;
  readonly name?: string | undefined;
  readonly compression?: number | undefined;
  readonly binDir?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: BackupProgress) => void) | undefined;
}

/**
 * A finished backup: its archive, its manifest, and the manifest's content.
 *
 * @example
 * ```ts
 * import { type BackupResult, createBackup } from 'carebase/backup';
 * const backup: BackupResult = await createBackup({ carebase: cb });
 * console.log(`${backup.path}: ${backup.manifest.sizeBytes} bytes, sha256 ${backup.manifest.sha256}`);
 * ```
 */
export interface BackupResult {
  readonly path: string;
  readonly manifestPath: string;
  readonly manifest: BackupManifest;
}

function timestamp(date: Date): string {
  return date.toISOString().replaceAll(':', '-').replace('.', '-');
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}

/**
 * Backs up the database with `pg_dump -Fc` into `<dir>/<name>.dump` plus a sidecar manifest
 * (`.dump.manifest.json`: sha256, size, server and pg_dump versions, carebase schema version,
 * per-table row counts, created time, duration).
 *
 * Archive and manifest are created with mode 0600 (a new directory with 0700): backups hold
 * patient data. The archive is written under a `.partial` name and renamed only once pg_dump succeeded and the
 * checksum was taken, so a crash or cancellation never leaves a file that looks finished. The row
 * counts come from the same snapshot pg_dump reads (`--snapshot`), so they describe the archive
 * exactly even while the application keeps writing. pg_dump runs with an argument array and gets
 * the password through a temporary `PGPASSFILE` (mode 0600, removed afterwards), never on its
 * command line. `signal` kills pg_dump and removes the partial file.
 *
 * Backups and migrations of one database never overlap: the backup holds the maintenance
 * advisory lock in shared mode (other backups may run) for its whole run, and fails at once with
 * a `BackupError` naming the migration's session when a migration holds it.
 *
 * Throws `ValidationError` for bad options, `BackupError` when the tools are missing or too old,
 * pg_dump fails or a migration is running, `AbortError` when cancelled, `ConnectionError` when the server is unreachable.
 * Concurrent backups are safe as long as they use different names.
 *
 * @example
 * ```ts
 * import { createBackup } from 'carebase/backup';
 * const backup = await createBackup({ connectionString: process.env.DATABASE_URL, dir: '/var/backups/app' });
 * console.log(backup.path, backup.manifest.sha256);
 * ```
 */
export async function createBackup(options: CreateBackupOptions = {}): Promise<BackupResult> {
  const parsed = parseInput(CreateBackupOptionsSchema, options, 'backup options') as CreateBackupOptions;
  const config = resolveBackupConfig(options);
  const dir = resolve(resolveBackupDir(parsed.dir, options));
  const { signal, onProgress } = parsed;
  if (signal?.aborted) throw new AbortError({ cause: signal.reason });
  const started = performance.now();
  const client = await openClient(config);
  let partial: string | undefined;
  let manifestPartial: string | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  try {
    // Shared with other backups, exclusive with migrations; held until this client ends.
    if (!(await tryMaintenanceLock(client, 'shared'))) {
      const holders = await maintenanceLockHolders(client);
      throw new BackupError(
        `a migration is running on this database (${describeHolders(holders)}): ` +
          'backups and migrations never run at once; back up when it is done',
      );
    }
    const server = await readServerInfo(client);
    const tools = await findPgTools({ minMajor: server.major, binDir: parsed.binDir });
    await onFile(dir, 'could not create the backup directory', () =>
      mkdir(dir, { recursive: true, mode: 0o700 }),
    );
    // One snapshot for pg_dump and for the row counts: they describe the same moment.
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]?.id;
    if (snapshot === undefined) throw new BackupError('could not export a snapshot');
    // Before pg_dump starts: a table the role may not read fails the backup naming it.
    await assertTablesReadable(client);
    const createdAt = new Date();
    const base = parsed.name ?? `${server.database.replace(/[^A-Za-z0-9._-]/g, '_')}-${timestamp(createdAt)}`;
    const path = join(dir, `${base}${ARCHIVE_SUFFIX}`);
    const manifestPath = manifestPathFor(path);
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    ) {
      throw new BackupError(`a backup named ${base} already exists in ${dir}`);
    }
    partial = `${path}${PARTIAL_SUFFIX}`;
    // Backups hold patient data: create the file owner-only before pg_dump opens it (pg_dump
    // truncates it and keeps the mode), so it is never readable by others, even mid-dump.
    await removeQuietly(partial);
    const archiveFile = partial;
    await onFile(archiveFile, 'could not create the archive', () =>
      writeFile(archiveFile, '', { mode: 0o600, flag: 'wx' }),
    );
    const child = await childEnvironment(config, server.database, tools.major);
    const report = (phase: BackupProgress['phase'], bytesWritten: number): void => {
      onProgress?.({ phase, bytesWritten, elapsedMs: Math.round(performance.now() - started) });
    };
    const file = partial;
    if (onProgress !== undefined) {
      report('dumping', 0);
      progressTimer = setInterval(() => {
        stat(file).then(
          (info) => report('dumping', info.size),
          () => {},
        );
      }, 250);
    }
    const args = ['--format=custom', `--file=${partial}`, `--snapshot=${snapshot}`, '--no-password'];
    if (parsed.compression !== undefined) args.push(`--compress=${parsed.compression}`);
    const password = config.connection.password?.reveal();
    // Our own controller: also stops pg_dump when something else fails (e.g. the count query).
    const stopDump = new AbortController();
    const forward = (): void => stopDump.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    let dumped: Promise<string> | undefined;
    try {
      dumped = runTool(tools.pgDump, args, {
        env: child.env,
        signal: stopDump.signal,
        redact: password === undefined ? [] : [password],
      });
      const [tables, carebaseSchemaVersion] = await Promise.all([
        countTableRows(client),
        readCarebaseSchemaVersion(client, config.schema),
        dumped,
      ]);
      await client.query('commit');
      if (progressTimer !== undefined) clearInterval(progressTimer);
      const { size } = await onFile(file, 'could not read the archive', () => stat(file));
      report('checksumming', size);
      const { sha256, sizeBytes } = await onFile(file, 'could not read the archive', () =>
        hashFile(file, signal),
      );
      const manifest: BackupManifest = {
        format: 'carebase-backup',
        formatVersion: 1,
        archive: `${base}${ARCHIVE_SUFFIX}`,
        sha256,
        sizeBytes,
        database: server.database,
        serverVersion: server.serverVersion,
        serverVersionNum: server.serverVersionNum,
        pgDumpVersion: tools.version,
        carebaseSchemaVersion,
        carebaseSchema: config.schema,
        compression: parsed.compression ?? null,
        createdAt: createdAt.toISOString(),
        durationMs: Math.round(performance.now() - started),
        tables,
      };
      manifestPartial = `${manifestPath}${PARTIAL_SUFFIX}`;
      await removeQuietly(manifestPartial);
      const manifestFile = manifestPartial;
      await onFile(manifestFile, 'could not write the manifest', () =>
        writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' }),
      );
      if (signal?.aborted) throw new AbortError({ cause: signal.reason });
      await onFile(path, 'could not rename the archive', () => rename(file, path));
      partial = undefined;
      await onFile(manifestPath, 'could not rename the manifest', () => rename(manifestFile, manifestPath));
      manifestPartial = undefined;
      report('done', sizeBytes);
      config.logger.info(
        { archive: path, sizeBytes, durationMs: manifest.durationMs, database: server.database },
        'carebase: backup created',
      );
      return { path, manifestPath, manifest };
    } finally {
      signal?.removeEventListener('abort', forward);
      // Never leave pg_dump running behind an error of ours (e.g. the count query failed).
      stopDump.abort();
      await dumped?.catch(() => {});
      await child.cleanup();
    }
  } catch (error) {
    const mapped = toBackupFailure(error, 'backup failed');
    config.logger.error({ err: { code: mapped.code }, dir }, 'carebase: backup failed');
    throw mapped;
  } finally {
    if (progressTimer !== undefined) clearInterval(progressTimer);
    if (partial !== undefined) await removeQuietly(partial);
    if (manifestPartial !== undefined) await removeQuietly(manifestPartial);
    await client.end().catch(() => {});
  }
}
