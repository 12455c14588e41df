import { readdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../config/clock.js';
import { silentLogger } from '../logging/logger.js';
import { parseInput } from '../validation/parse-input.js';
import {
  type BackupConnectionOptions,
  BackupConnectionShape,
  resolveBackupDir,
  toBackupFailure,
} from './connection.js';
import { type BackupEntry, readCatalog } from './list-backups.js';
import { MANIFEST_SUFFIX, PARTIAL_SUFFIX } from './manifest.js';
import { verifyBackup } from './verify-backup.js';

const DAY_MS = 86_400_000;
/** `.partial` files older than this belong to a crashed or killed run and are removed. */
const STALE_PARTIAL_MS = DAY_MS;

/**
 * Validates {@link pruneBackups}' options.
 *
 * @example
 * ```ts
 * import { PruneBackupsOptionsSchema, pruneBackups } from 'carebase/backup';
 * // Retention from the environment, checked before anything is deleted.
 * const parsed = PruneBackupsOptionsSchema.safeParse({
 *   dir: process.env.BACKUP_DIR,
 *   keepLast: Number(process.env.BACKUP_KEEP_LAST ?? 10),
 *   maxAgeDays: Number(process.env.BACKUP_MAX_AGE_DAYS ?? 30),
 * });
 * if (!parsed.success)
 *   throw new Error(`bad backup retention: ${parsed.error.issues.map((i) => i.path.join('.'))}`);
 * await pruneBackups(parsed.data);
 * ```
 */
export const PruneBackupsOptionsSchema = z.strictObject({
  // Connection options (e.g. configFromEnv()'s output as it is) are accepted and unused here.
  ...BackupConnectionShape,
  /** The directory to prune. @default `backupDir` (env `BACKUP_DIR`), else `./backups` */
  dir: z.string().min(1).optional(),
  backupDir: z.string().min(1).optional(),
  carebase: z
    .custom<{ readonly config: { readonly backupDir: string } }>(
      (value) => typeof value === 'object' && value !== null && 'config' in value,
    )
    .optional(),
  /** Always keep this many newest backups. @default 10 */
  keepLast: z.number().int().nonnegative().optional(),
  /** Always keep backups younger than this many days. @default 30 */
  maxAgeDays: z.number().nonnegative().optional(),
  /** Report what would be deleted without deleting. @default false */
  dryRun: z.boolean().optional(),
  /** Look for pg_restore only here. @default env `PG_BIN_DIR`, else the usual places */
  binDir: z.string().min(1).optional(),
  /** Source of "now". @default the system clock */
  clock: z.custom<Clock>((value) => typeof value === 'object' && value !== null && 'now' in value).optional(),
  logger: z
    .custom<{ info(obj: Record<string, unknown>, msg?: string): void }>(
      (value) => typeof value === 'object' && value !== null && 'info' in value,
    )
    .optional(),
});

/**
 * Options of {@link pruneBackups}.
 *
 * @example
 * ```ts
 * import { type PruneBackupsOptions, pruneBackups } from 'carebase/backup';
 * // Preview first: what would a stricter policy delete?
 * const options: PruneBackupsOptions = { carebase: cb, keepLast: 7, maxAgeDays: 14, dryRun: true };
 * const { deleted } = await pruneBackups(options);
 * console.log(deleted.map((entry) => entry.name));
 * ```
 */
// Connection options (e.g. configFromEnv()'s output as it is) are accepted and unused here.
export interface PruneBackupsOptions
  extends Omit<BackupConnectionOptions, 'carebase' | 'backupDir' | 'logger'> {
  /** The directory to prune. @default `backupDir` (env `BACKUP_DIR`), else `./backups` */
  readonly dir?: string | undefined;
  readonly backupDir?: string | undefined;
  readonly carebase?: { readonly config: { readonly backupDir: string } } | undefined;
  /** Always keep this many newest backups. @default 10 */
  readonly keepLast?: number | undefined;
  /** Always keep backups younger than this many days. @default 30 */
  readonly maxAgeDays?: number | undefined;
  /** Report what would be deleted without deleting. @default false */
  readonly dryRun?: boolean | undefined;
  /** Look for pg_restore only here. @default env `PG_BIN_DIR`, else the usual places */
  readonly binDir?: string | undefined;
  /** Source of "now". @default the system clock */
  readonly clock?: Clock | undefined;
  readonly logger?: { info(obj: Record<string, unknown>, msg?: string): void } | undefined;
}

/**
 * Why {@link pruneBackups} kept a backup: among the `keepLast` newest, younger than `maxAgeDays`,
 * or the newest one that passes verification.
 *
 * @example
 * ```ts
 * import type { PruneKeepReason } from 'carebase/backup';
 * const { kept } = await cb.backups.prune({ keepLast: 2, dryRun: true });
 * const young: PruneKeepReason = 'max-age-days';
 * console.log(kept.filter((entry) => entry.keptBecause.includes(young)).map((entry) => entry.name));
 * ```
 */
export type PruneKeepReason = 'keep-last' | 'max-age-days' | 'newest-verified';

/**
 * What {@link pruneBackups} removed (or would remove, with `dryRun`).
 *
 * @example
 * ```ts
 * import type { PruneResult } from 'carebase/backup';
 * const result: PruneResult = await cb.backups.prune({ keepLast: 10, maxAgeDays: 30 });
 * logger.info(
 *   { deleted: result.deleted.length, kept: result.kept.length, newestVerified: result.newestVerified },
 *   'backups pruned',
 * );
 * ```
 */
export interface PruneResult {
  /** Archives deleted, each with its manifest. */
  readonly deleted: readonly BackupEntry[];
  /** Archives kept, each with the rules that kept it. */
  readonly kept: readonly (BackupEntry & { readonly keptBecause: readonly PruneKeepReason[] })[];
  /** The newest backup that passed verification, which is never deleted (undefined: none passed). */
  readonly newestVerified: string | undefined;
  /** Other files removed: orphaned manifests and stale `.partial` files. */
  readonly removedFiles: readonly string[];
  readonly dryRun: boolean;
}

/**
 * Applies retention to a backup directory. A backup is deleted only when it is neither among the
 * `keepLast` newest nor younger than `maxAgeDays` (both rules keep, like restic's `--keep-last`
 * and `--keep-within`) and it is not the newest backup that passes verification (checksum and
 * `pg_restore --list`): even when every backup is older than `maxAgeDays`, that one stays, and a
 * corrupted newer archive never makes the last good one disappear. Each archive goes with its
 * manifest. Manifests without an archive and `.partial` files older than a day are removed too.
 *
 * Throws `ValidationError` for bad options, `BackupError` when a file cannot be deleted (what was
 * deleted before stays deleted and is logged). Do not run two prunes of one directory at once.
 *
 * @example
 * ```ts
 * import { pruneBackups } from 'carebase/backup';
 * const { deleted } = await pruneBackups({ dir: '/var/backups/app', keepLast: 10, maxAgeDays: 30 });
 * console.log(`removed ${deleted.length} old backups`);
 * ```
 */
export async function pruneBackups(options: PruneBackupsOptions = {}): Promise<PruneResult> {
  const parsed = parseInput(PruneBackupsOptionsSchema, options, 'prune options');
  const dir = resolve(resolveBackupDir(parsed.dir, parsed));
  const keepLast = parsed.keepLast ?? 10;
  const maxAgeMs = (parsed.maxAgeDays ?? 30) * DAY_MS;
  const now = (parsed.clock ?? { now: () => new Date() }).now().getTime();
  const dryRun = parsed.dryRun ?? false;
  const logger = parsed.logger ?? silentLogger;
  const catalog = await readCatalog(dir);

  let newestVerified: string | undefined;
  for (const entry of catalog) {
    if (!entry.verified) continue;
    const result = await verifyBackup(entry.path, { binDir: parsed.binDir });
    if (result.ok) {
      newestVerified = entry.name;
      break;
    }
  }

  const deleted: BackupEntry[] = [];
  const kept: (BackupEntry & { keptBecause: PruneKeepReason[] })[] = [];
  catalog.forEach((entry, index) => {
    const keptBecause: PruneKeepReason[] = [];
    if (index < keepLast) keptBecause.push('keep-last');
    if (now - entry.createdAt.getTime() < maxAgeMs) keptBecause.push('max-age-days');
    if (entry.name === newestVerified) keptBecause.push('newest-verified');
    if (keptBecause.length > 0) kept.push({ ...entry, keptBecause });
    else deleted.push(entry);
  });

  const removedFiles: string[] = [];
  try {
    const names = await readdir(dir).catch(() => [] as string[]);
    const archives = new Set(catalog.map((entry) => entry.name));
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith(MANIFEST_SUFFIX) && !archives.has(name.slice(0, -MANIFEST_SUFFIX.length))) {
        removedFiles.push(path);
      } else if (name.endsWith(PARTIAL_SUFFIX)) {
        const info = await stat(path).catch(() => undefined);
        if (info !== undefined && now - info.mtime.getTime() > STALE_PARTIAL_MS) removedFiles.push(path);
      }
    }
    if (!dryRun) {
      for (const entry of deleted) {
        // Archive first: a failure in between leaves an orphaned manifest (removed next time),
        // never an archive that lost its manifest.
        await unlink(entry.path);
        await unlink(entry.manifestPath).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        logger.info({ archive: entry.path }, 'carebase: backup pruned');
      }
      for (const path of removedFiles) await unlink(path).catch(() => {});
    }
  } catch (error) {
    throw toBackupFailure(error, 'prune failed');
  }
  return { deleted, kept, newestVerified, removedFiles, dryRun };
}
