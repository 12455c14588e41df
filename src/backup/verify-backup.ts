import { randomBytes } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import type { ResolvedConfig } from '../config/resolve.js';
import { parseInput } from '../validation/parse-input.js';
import {
  type BackupConnectionOptions,
  BackupConnectionShape,
  resolveBackupConfig,
  toBackupFailure,
  withClient,
} from './connection.js';
import { type BackupManifest, hashFile, manifestPathFor, readManifest } from './manifest.js';
import { findPgTools, type PgTools } from './pg-tools.js';
import { dropDatabase, restoreInto } from './restore-into.js';
import { runTool } from './run-tool.js';
import { readServerInfo } from './server-info.js';
import { countTableRows } from './table-counts.js';

/**
 * Validates {@link verifyBackup}'s options.
 *
 * @example
 * ```ts
 * import { VerifyBackupOptionsSchema, verifyBackup } from 'carebase/backup';
 * // A verification job's settings, checked before it connects anywhere.
 * const parsed = VerifyBackupOptionsSchema.safeParse({
 *   connectionString: process.env.DATABASE_URL,
 *   trialRestore: true,
 * });
 * if (!parsed.success) throw new Error('bad verification settings');
 * const result = await verifyBackup(path, parsed.data);
 * ```
 */
export const VerifyBackupOptionsSchema = z.strictObject({
  ...BackupConnectionShape,
  /** Also restore into a scratch database and compare row counts with the manifest. @default false */
  trialRestore: z.boolean().optional(),
  /** Database to connect to for CREATE / DROP DATABASE. @default 'postgres' */
  maintenanceDatabase: z.string().min(1).optional(),
  /** Look for pg_restore only here. @default env `PG_BIN_DIR`, else the usual places */
  binDir: z.string().min(1).optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal').optional(),
});

/**
 * Options of {@link verifyBackup}.
 *
 * @example
 * ```ts
 * import { type VerifyBackupOptions, verifyBackup } from 'carebase/backup';
 * // Weekly: restore into a scratch database and compare row counts, not only the checksum.
 * const options: VerifyBackupOptions = {
 *   carebase: cb,
 *   trialRestore: true,
 *   signal: AbortSignal.timeout(60 * 60_000),
 * };
 * const { ok, problems } = await verifyBackup(path, options);
 * ```
 */
export interface VerifyBackupOptions extends BackupConnectionOptions {
  readonly trialRestore?: boolean | undefined;
  readonly maintenanceDatabase?: string | undefined;
  readonly binDir?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * A table whose row count after a trial restore differs from the manifest's.
 *
 * @example
 * ```ts
 * import type { RowCountMismatch } from 'carebase/backup';
 * const { rowCountMismatches } = await cb.backups.verify(path, { trialRestore: true });
 * const describe = (m: RowCountMismatch) =>
 *   `${m.table}: expected ${m.expected ?? 'none'}, found ${m.actual ?? 'none'}`;
 * for (const mismatch of rowCountMismatches) console.error(describe(mismatch));
 * ```
 */
export interface RowCountMismatch {
  readonly table: string;
  /** Rows recorded in the manifest (undefined: the table is not in the manifest). */
  readonly expected: number | undefined;
  /** Rows found after restoring (undefined: the table was not restored). */
  readonly actual: number | undefined;
}

/**
 * What {@link verifyBackup} found. `ok` is true only when every check that ran passed.
 *
 * @example
 * ```ts
 * import type { VerifyResult } from 'carebase/backup';
 * const result: VerifyResult = await cb.backups.verify(path);
 * if (!result.ok)
 *   logger.error({ checks: result.checks, problems: result.problems }, 'backup failed verification');
 * ```
 */
export interface VerifyResult {
  readonly ok: boolean;
  readonly path: string;
  readonly manifest: BackupManifest | undefined;
  readonly checks: {
    readonly manifest: 'ok' | 'missing' | 'invalid';
    readonly checksum: 'ok' | 'mismatch' | 'skipped';
    readonly archive: 'ok' | 'unreadable' | 'skipped';
    readonly trialRestore: 'ok' | 'mismatch' | 'failed' | 'skipped';
  };
  /** Human-readable problems, empty when `ok`. */
  readonly problems: readonly string[];
  readonly rowCountMismatches: readonly RowCountMismatch[];
  /** Entries in the archive's table of contents (undefined when it could not be read). */
  readonly archiveItems: number | undefined;
}

function majorOf(version: string): number {
  return Number(version.split('.')[0] ?? 0);
}

/** Compares restored row counts with the manifest's. */
export function compareRowCounts(
  expected: Readonly<Record<string, number>>,
  actual: Readonly<Record<string, number>>,
): RowCountMismatch[] {
  const names = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  const mismatches: RowCountMismatch[] = [];
  for (const table of [...names].sort()) {
    if (expected[table] !== actual[table]) {
      mismatches.push({ table, expected: expected[table], actual: actual[table] });
    }
  }
  return mismatches;
}

/**
 * Runs `pg_restore --list` on the archive: the number of entries in its table of contents, or
 * undefined when pg_restore cannot read it.
 */
export async function archiveEntries(
  tools: PgTools,
  path: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  try {
    const listing = await runTool(tools.pgRestore, ['--list', path], {
      env: { ...process.env, LC_ALL: 'C' },
      signal,
      captureStdout: true,
    });
    if (!listing.includes('Archive created at')) return undefined;
    return listing.split('\n').filter((line) => /^\d+;/.test(line)).length;
  } catch (error) {
    if ((error as { code?: string }).code === 'ABORTED') throw error;
    return undefined;
  }
}

/** Restores into a scratch database, counts rows there, drops it. */
async function trialRestore(
  config: ResolvedConfig,
  tools: PgTools,
  path: string,
  maintenanceDatabase: string,
  signal: AbortSignal | undefined,
): Promise<Record<string, number>> {
  const scratch = `carebase_verify_${randomBytes(6).toString('hex')}`;
  await restoreInto({ config, tools, archive: path, database: scratch, maintenanceDatabase, signal });
  try {
    return await withClient(config, scratch, (client) => countTableRows(client));
  } finally {
    await dropDatabase(config, maintenanceDatabase, scratch);
  }
}

/**
 * Verifies an archive: its SHA-256 and size match the manifest, `pg_restore --list` can read it,
 * and, with `trialRestore`, it restores into a scratch database (dropped afterwards) whose
 * per-table row counts equal the manifest's. A single flipped byte fails the checksum.
 *
 * Returns a {@link VerifyResult} (`ok: false` with `problems` for a bad archive) rather than
 * throwing for what it finds. Throws `ValidationError` for bad options, `BackupError` when the
 * tools are missing or the archive cannot be read from disk, `AbortError` when cancelled,
 * `ConnectionError` for an unreachable server (trial restore only). Read-only on the archive;
 * trial restores use uniquely named scratch databases, so concurrent calls are safe.
 *
 * @example
 * ```ts
 * import { verifyBackup } from 'carebase/backup';
 * const result = await verifyBackup('/var/backups/app/app-2026-01-31T02-00-00-000Z.dump', {
 *   connectionString: process.env.DATABASE_URL,
 *   trialRestore: true,
 * });
 * if (!result.ok) console.error(result.problems);
 * ```
 */
export async function verifyBackup(path: string, options: VerifyBackupOptions = {}): Promise<VerifyResult> {
  const parsed = parseInput(
    VerifyBackupOptionsSchema.extend({ path: z.string().min(1) }),
    { ...options, path },
    'verify options',
  ) as VerifyBackupOptions;
  const archive = resolve(path);
  const problems: string[] = [];
  const manifestRead = await readManifest(manifestPathFor(archive));
  const manifest = typeof manifestRead === 'object' ? manifestRead : undefined;
  const checks = {
    manifest: manifestRead === undefined ? 'missing' : manifestRead === 'invalid' ? 'invalid' : 'ok',
    checksum: 'skipped',
    archive: 'skipped',
    trialRestore: 'skipped',
  } as { -readonly [K in keyof VerifyResult['checks']]: VerifyResult['checks'][K] };
  if (checks.manifest !== 'ok') problems.push(`manifest ${checks.manifest}`);
  if (manifest !== undefined && manifest.archive !== basename(archive)) {
    checks.manifest = 'invalid';
    problems.push('the manifest describes another archive');
  }
  let rowCountMismatches: RowCountMismatch[] = [];
  let archiveItems: number | undefined;
  try {
    if (manifest !== undefined) {
      const { sha256, sizeBytes } = await hashFile(archive, parsed.signal);
      const same = sha256 === manifest.sha256 && sizeBytes === manifest.sizeBytes;
      checks.checksum = same ? 'ok' : 'mismatch';
      if (!same) problems.push('checksum mismatch: the archive differs from the one the manifest describes');
    }
    const dumpMajor = manifest === undefined ? 0 : majorOf(manifest.pgDumpVersion);
    const config = parsed.trialRestore === true ? resolveBackupConfig(options) : undefined;
    const serverMajor =
      config === undefined ? 0 : (await withClient(config, undefined, readServerInfo)).major;
    const tools = await findPgTools({ minMajor: Math.max(dumpMajor, serverMajor), binDir: parsed.binDir });
    archiveItems = await archiveEntries(tools, archive, parsed.signal);
    const readable = archiveItems !== undefined;
    checks.archive = readable ? 'ok' : 'unreadable';
    if (!readable) problems.push('pg_restore --list cannot read the archive');
    if (config !== undefined && problems.length === 0 && manifest !== undefined) {
      try {
        const counts = await trialRestore(
          config,
          tools,
          archive,
          parsed.maintenanceDatabase ?? 'postgres',
          parsed.signal,
        );
        rowCountMismatches = compareRowCounts(manifest.tables, counts);
        checks.trialRestore = rowCountMismatches.length === 0 ? 'ok' : 'mismatch';
        if (rowCountMismatches.length > 0) {
          problems.push(`row counts differ after the trial restore in ${rowCountMismatches.length} table(s)`);
        }
      } catch (error) {
        if (
          (error as { code?: string }).code === 'ABORTED' ||
          (error as { code?: string }).code === 'CONNECTION_FAILED'
        ) {
          throw error;
        }
        checks.trialRestore = 'failed';
        problems.push(`trial restore failed: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  } catch (error) {
    throw toBackupFailure(error, 'verification failed');
  }
  return {
    ok: problems.length === 0,
    path: archive,
    manifest,
    checks,
    problems,
    rowCountMismatches,
    archiveItems,
  };
}
