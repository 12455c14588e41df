import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseInput } from '../validation/parse-input.js';
import {
  type BackupConnectionOptions,
  BackupConnectionShape,
  resolveBackupDir,
  toBackupFailure,
} from './connection.js';
import {
  ARCHIVE_SUFFIX,
  type BackupManifest,
  MANIFEST_SUFFIX,
  manifestPathFor,
  readManifest,
} from './manifest.js';

/**
 * The state of a catalogued archive, judged from its manifest without reading the archive:
 * `ok` (manifest present and matching in size), `no-manifest`, `invalid-manifest` (unreadable
 * or for another file), `size-mismatch` (the archive's size differs from the manifest's).
 * Only `verifyBackup` checks the checksum.
 *
 * @example
 * ```ts
 * import type { BackupStatus } from 'carebase/backup';
 * const meaning: Record<BackupStatus, string> = {
 *   ok: 'the manifest vouches for the archive',
 *   'no-manifest': 'interrupted, or copied without its manifest',
 *   'invalid-manifest': 'the manifest is unreadable or belongs to another file',
 *   'size-mismatch': 'the archive was truncated or altered',
 * };
 * for (const entry of (await cb.backups.list()).items) {
 *   if (entry.status !== 'ok') console.warn(`${entry.name}: ${meaning[entry.status]}`);
 * }
 * ```
 */
export type BackupStatus = 'ok' | 'no-manifest' | 'invalid-manifest' | 'size-mismatch';

/**
 * One archive in the catalog.
 *
 * @example
 * ```ts
 * import type { BackupEntry } from 'carebase/backup';
 * const { items } = await cb.backups.list();
 * const newest: BackupEntry | undefined = items.find((entry) => entry.verified);
 * console.log(
 *   newest === undefined ? 'no usable backup!' : `${newest.name} from ${newest.createdAt.toISOString()}`,
 * );
 * ```
 */
export interface BackupEntry {
  /** Archive file name, e.g. `app-2026-01-31T02-00-00-000Z.dump`. */
  readonly name: string;
  readonly path: string;
  readonly manifestPath: string;
  readonly status: BackupStatus;
  /** True when `status` is `ok`: the manifest vouches for this archive. Not a checksum check. */
  readonly verified: boolean;
  /** The manifest's creation time, else the archive's modification time. */
  readonly createdAt: Date;
  readonly sizeBytes: number;
  /** The manifest, when it could be read. */
  readonly manifest: BackupManifest | undefined;
}

/**
 * Validates {@link listBackups}' options.
 *
 * @example
 * ```ts
 * import { ListBackupsOptionsSchema, listBackups } from 'carebase/backup';
 * // An admin endpoint pages through the catalog; the schema checks the query string.
 * const parsed = ListBackupsOptionsSchema.safeParse({ limit: Number(req.query.limit ?? 20) });
 * if (parsed.success) res.json(await listBackups({ carebase: cb, ...parsed.data }));
 * else res.status(400).end();
 * ```
 */
export const ListBackupsOptionsSchema = z.strictObject({
  // Connection options (e.g. configFromEnv()'s output as it is) are accepted and unused here.
  ...BackupConnectionShape,
  /** The directory to list. @default `backupDir` (env `BACKUP_DIR`), else `./backups` */
  dir: z.string().min(1).optional(),
  /** Use this directory's default from a carebase instance or options. */
  backupDir: z.string().min(1).optional(),
  carebase: z
    .custom<{ readonly config: { readonly backupDir: string } }>(
      (value) => typeof value === 'object' && value !== null && 'config' in value,
    )
    .optional(),
  /** Page size. @default all */
  limit: z.number().int().positive().optional(),
  /** `nextCursor` of the previous page. */
  cursor: z.string().min(1).optional(),
});

/**
 * Options of {@link listBackups}.
 *
 * @example
 * ```ts
 * import { type ListBackupsOptions, listBackups } from 'carebase/backup';
 * const options: ListBackupsOptions = { dir: '/var/backups/app', limit: 20 };
 * const first = await listBackups(options);
 * const second =
 *   first.nextCursor === undefined ? undefined : await listBackups({ ...options, cursor: first.nextCursor });
 * ```
 */
// Connection options (e.g. configFromEnv()'s output as it is) are accepted and unused here.
export interface ListBackupsOptions extends Omit<BackupConnectionOptions, 'carebase' | 'backupDir'> {
  /** The directory to list. @default `backupDir` (env `BACKUP_DIR`), else `./backups` */
  readonly dir?: string | undefined;
  /** Use this directory's default from a carebase instance or options. */
  readonly backupDir?: string | undefined;
  readonly carebase?: { readonly config: { readonly backupDir: string } } | undefined;
  /** Page size. @default all */
  readonly limit?: number | undefined;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

/** Reads one archive's catalog entry. */
export async function catalogEntry(dir: string, name: string): Promise<BackupEntry | undefined> {
  const path = join(dir, name);
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) return undefined;
  const manifestPath = manifestPathFor(path);
  const manifest = await readManifest(manifestPath);
  let status: BackupStatus = 'ok';
  if (manifest === undefined) status = 'no-manifest';
  else if (manifest === 'invalid' || manifest.archive !== name) status = 'invalid-manifest';
  else if (manifest.sizeBytes !== info.size) status = 'size-mismatch';
  const good = typeof manifest === 'object' ? manifest : undefined;
  return {
    name,
    path,
    manifestPath,
    status,
    verified: status === 'ok',
    createdAt: good === undefined ? info.mtime : new Date(good.createdAt),
    sizeBytes: info.size,
    manifest: good,
  };
}

/** Every archive of `dir`, newest first (finished archives only: `.partial` files are skipped). */
export async function readCatalog(dir: string): Promise<BackupEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw toBackupFailure(error, 'could not read the backup directory');
  }
  const archives = names.filter((name) => name.endsWith(ARCHIVE_SUFFIX) && !name.endsWith(MANIFEST_SUFFIX));
  const entries = (await Promise.all(archives.map((name) => catalogEntry(dir, name)))).filter(
    (entry) => entry !== undefined,
  );
  return entries.sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name),
  );
}

/**
 * Lists the backups in a directory, newest first, from their manifests. Files still being
 * written (`.partial`) are never listed; archives without a usable manifest are listed with
 * `verified: false` and a `status` saying why. Reads only manifests and file sizes (no hashing).
 *
 * Throws `ValidationError` for bad options, `BackupError` when the directory cannot be read (a
 * missing directory is an empty list). Safe to call while backups are being written.
 *
 * @example
 * ```ts
 * import { listBackups } from 'carebase/backup';
 * const { items } = await listBackups({ dir: '/var/backups/app' });
 * for (const backup of items) console.log(backup.name, backup.status, backup.createdAt);
 * ```
 */
export async function listBackups(
  options: ListBackupsOptions = {},
): Promise<{ items: BackupEntry[]; nextCursor: string | undefined }> {
  const parsed = parseInput(ListBackupsOptionsSchema, options, 'list options');
  const dir = resolve(resolveBackupDir(parsed.dir, parsed));
  const all = await readCatalog(dir);
  let start = 0;
  if (parsed.cursor !== undefined) {
    const at = all.findIndex((entry) => entry.name === parsed.cursor);
    start = at === -1 ? all.length : at + 1;
  }
  const end = parsed.limit === undefined ? all.length : start + parsed.limit;
  const items = all.slice(start, end);
  const last = items.at(-1);
  return { items, nextCursor: end < all.length && last !== undefined ? last.name : undefined };
}
