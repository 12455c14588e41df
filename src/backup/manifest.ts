import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** File name suffix of a finished archive. */
export const ARCHIVE_SUFFIX = '.dump';
/** File name suffix of an archive's sidecar manifest. */
export const MANIFEST_SUFFIX = '.manifest.json';
/** File name suffix of files still being written. */
export const PARTIAL_SUFFIX = '.partial';

/**
 * The sidecar manifest written next to every archive (`<name>.dump.manifest.json`): what was
 * dumped, from where, with which tools, and the checksum and per-table row counts that
 * `verifyBackup` checks against.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { BackupManifestSchema } from 'carebase/backup';
 * // An off-site copy job reads the sidecar manifest to know what it is shipping.
 * const text = await readFile('/var/backups/app/app-2026-01-31T02-00-00-000Z.dump.manifest.json', 'utf8');
 * const manifest = BackupManifestSchema.parse(JSON.parse(text));
 * console.log(manifest.archive, manifest.sha256, manifest.serverVersion);
 * ```
 */
export const BackupManifestSchema = z.object({
  format: z.literal('carebase-backup'),
  formatVersion: z.literal(1),
  /** The archive's file name (in the same directory). */
  archive: z.string().min(1),
  /** Hex SHA-256 of the archive. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Archive size in bytes. */
  sizeBytes: z.number().int().nonnegative(),
  /** The dumped database's name. */
  database: z.string(),
  /** `server_version` of the server, e.g. `15.20`. */
  serverVersion: z.string(),
  /** `server_version_num`, e.g. `150020`. */
  serverVersionNum: z.number().int(),
  /** `pg_dump --version`, e.g. `15.20`. */
  pgDumpVersion: z.string(),
  /** The latest applied carebase migration, or null when carebase is not installed there. */
  carebaseSchemaVersion: z.string().nullable(),
  /** The carebase schema name the version was read from. */
  carebaseSchema: z.string(),
  /** pg_dump compression level (0-9), or null for pg_dump's default. */
  compression: z.number().int().nullable(),
  /** ISO time the dump's snapshot was taken. */
  createdAt: z.iso.datetime({ offset: true }),
  /** Wall time of the whole backup, in milliseconds. */
  durationMs: z.number().nonnegative(),
  /** Exact row count of every dumped table (`schema.table`), in the dump's own snapshot. */
  tables: z.record(z.string(), z.number().int().nonnegative()),
});

/**
 * A parsed backup manifest; see {@link BackupManifestSchema}.
 *
 * @example
 * ```ts
 * import type { BackupManifest } from 'carebase/backup';
 * const { manifest }: { manifest: BackupManifest } = await cb.backups.create();
 * const rows = Object.values(manifest.tables).reduce((sum, count) => sum + count, 0);
 * console.log(
 *   `${manifest.database} at ${manifest.carebaseSchemaVersion}: ${rows} rows in ${manifest.durationMs} ms`,
 * );
 * ```
 */
export interface BackupManifest {
  readonly format: 'carebase-backup';
  readonly formatVersion: 1;
  /** The archive's file name (in the same directory). */
  readonly archive: string;
  /** Hex SHA-256 of the archive. */
  readonly sha256: string;
  /** Archive size in bytes. */
  readonly sizeBytes: number;
  /** The dumped database's name. */
  readonly database: string;
  /** `server_version` of the server, e.g. `15.20`. */
  readonly serverVersion: string;
  /** `server_version_num`, e.g. `150020`. */
  readonly serverVersionNum: number;
  /** `pg_dump --version`, e.g. `15.20`. */
  readonly pgDumpVersion: string;
  /** The latest applied carebase migration, or null when carebase is not installed there. */
  readonly carebaseSchemaVersion: string | null;
  /** The carebase schema name the version was read from. */
  readonly carebaseSchema: string;
  /** pg_dump compression level (0-9), or null for pg_dump's default. */
  readonly compression: number | null;
  /** ISO time the dump's snapshot was taken. */
  readonly createdAt: string;
  /** Wall time of the whole backup, in milliseconds. */
  readonly durationMs: number;
  /** Exact row count of every dumped table (`schema.table`), in the dump's own snapshot. */
  readonly tables: Record<string, number>;
}

/** Path of the manifest belonging to `archivePath`. */
export function manifestPathFor(archivePath: string): string {
  return `${archivePath}${MANIFEST_SUFFIX}`;
}

/** Reads and validates a manifest; `undefined` when it is missing, `'invalid'` when unreadable. */
export async function readManifest(path: string): Promise<BackupManifest | 'invalid' | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return 'invalid';
  }
  try {
    const parsed = BackupManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'invalid';
  } catch {
    return 'invalid';
  }
}

/** Hex SHA-256 and size of a file, streamed. */
export async function hashFile(
  path: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}
