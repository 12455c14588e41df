import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type pg from 'pg';
import { z } from 'zod';
import type { ResolvedConfig } from '../config/resolve.js';
import { AbortError, BackupError } from '../errors/errors.js';
import { quoteIdentifier } from '../sql/identifier.js';
import { parseInput } from '../validation/parse-input.js';
import {
  type BackupConnectionOptions,
  BackupConnectionShape,
  resolveBackupConfig,
  toBackupFailure,
  withClient,
} from './connection.js';
import { findPgTools } from './pg-tools.js';
import { dropDatabase, restoreInto } from './restore-into.js';
import { readServerInfo } from './server-info.js';
import { countTableRows } from './table-counts.js';
import { compareRowCounts, verifyBackup } from './verify-backup.js';

const databaseName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$-]*$/, 'must be a plain database name (letters, digits, _ $ -)');

/**
 * Progress of a restore: which step it is in, and archive items restored so far.
 *
 * @example
 * ```ts
 * import { type RestoreProgress, restoreBackup } from 'carebase/backup';
 * const onProgress = (p: RestoreProgress): void => {
 *   console.log(`${p.phase} ${p.itemsDone}/${p.itemsTotal} (${Math.round(p.elapsedMs / 1000)} s)`);
 * };
 * await restoreBackup(path, { carebase: cb, onProgress });
 * ```
 */
export interface RestoreProgress {
  readonly phase: 'verifying' | 'restoring' | 'checking' | 'swapping' | 'done';
  /** Archive items pg_restore has started so far (approximate: from its verbose output). */
  readonly itemsDone: number;
  /** Entries in the archive's table of contents. */
  readonly itemsTotal: number;
  readonly elapsedMs: number;
}

/**
 * Validates {@link restoreBackup}'s options.
 *
 * @example
 * ```ts
 * import { RestoreBackupOptionsSchema } from 'carebase/backup';
 * // A restore form: check the target database name before asking for confirmation.
 * const parsed = RestoreBackupOptionsSchema.pick({ target: true, mode: true }).safeParse(req.body);
 * if (!parsed.success)
 *   res.status(400).json({ fields: parsed.error.issues.map((issue) => issue.path.join('.')) });
 * else res.json(await cb.backups.restore(path, parsed.data));
 * ```
 */
export const RestoreBackupOptionsSchema = z.strictObject({
  ...BackupConnectionShape,
  /**
   * `new` restores into a new database and leaves the live one alone; `replace` restores into a
   * new database, checks it, then swaps it in by renaming, keeping the old one under a dated name.
   * @default 'new'
   */
  mode: z.enum(['new', 'replace']).optional(),
  /**
   * `new`: the database to create (must not exist). @default `<database>_restored_<UTC time>`.
   * `replace`: the database to replace. @default the connection's database.
   */
  target: databaseName.optional(),
  /** `replace`: end other sessions of the database being replaced instead of refusing. @default false */
  terminateConnections: z.boolean().optional(),
  /**
   * `replace`: once the swap is done and verified (the live name answers with the manifest's row
   * counts), drop the previous database instead of keeping it under a dated name. @default false
   */
  dropPrevious: z.boolean().optional(),
  /** Database to connect to for CREATE / RENAME / DROP DATABASE. @default 'postgres' */
  maintenanceDatabase: z.string().min(1).optional(),
  /**
   * After restoring, count every table's rows and compare with the manifest (a failed check drops
   * the restored database). Costs a full read of the restored data.
   * @default true for `replace` (checked before the swap), false for `new`
   */
  checkRowCounts: z.boolean().optional(),
  /** pg_restore `--jobs`. @default 1 */
  jobs: z.number().int().min(1).max(64).optional(),
  /** Look for pg_restore only here. @default env `PG_BIN_DIR`, else the usual places */
  binDir: z.string().min(1).optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal').optional(),
  onProgress: z
    .custom<(progress: RestoreProgress) => void>((value) => typeof value === 'function', 'must be a function')
    .optional(),
});

/**
 * Options of {@link restoreBackup}.
 *
 * @example
 * ```ts
 * import { type RestoreBackupOptions, restoreBackup } from 'carebase/backup';
 * // Replace the live database during a maintenance window; the old one is kept under a dated name.
 * const options: RestoreBackupOptions = {
 *   carebase: cb,
 *   mode: 'replace',
 *   terminateConnections: true,
 *   jobs: 4,
 * };
 * const { previousDatabase } = await restoreBackup(path, options);
 * console.log(`previous data kept in ${previousDatabase}`);
 * ```
 */
export interface RestoreBackupOptions extends BackupConnectionOptions {
  readonly mode?: 'new' | 'replace' | undefined;
  readonly target?: string | undefined;
  readonly terminateConnections?: boolean | undefined;
  readonly dropPrevious?: boolean | undefined;
  readonly maintenanceDatabase?: string | undefined;
  readonly checkRowCounts?: boolean | undefined;
  readonly jobs?: number | undefined;
  readonly binDir?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: RestoreProgress) => void) | undefined;
}

/**
 * Where a restore landed. The password is never included: connect with your usual credentials.
 *
 * @example
 * ```ts
 * import { createCarebase } from 'carebase';
 * import type { RestoreResult } from 'carebase/backup';
 * // Restore next to the live database to look something up, then connect to the copy.
 * const restored: RestoreResult = await cb.backups.restore(path, { mode: 'new' });
 * console.log(`restored into ${restored.displayUrl} in ${restored.durationMs} ms`);
 * const copy = createCarebase({ ...restored.connection, password: process.env.DB_PASSWORD });
 * ```
 */
export interface RestoreResult {
  readonly mode: 'new' | 'replace';
  /** The database now holding the restored data. */
  readonly database: string;
  /** `postgres://user:***@host:port/database`: safe to print. */
  readonly displayUrl: string;
  /** Connection settings for the restored database (merge with your password). */
  readonly connection: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly database: string;
  };
  /** `replace`: the previous database, kept under this dated name until you drop it. */
  readonly previousDatabase: string | undefined;
  /** `replace` with `dropPrevious`: the previous database was dropped after the verified swap. */
  readonly previousDropped: boolean;
  readonly durationMs: number;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

function displayUrlFor(config: ResolvedConfig, database: string): string {
  const url = config.connection.displayUrl;
  return `${url.slice(0, url.lastIndexOf('/') + 1)}${encodeURIComponent(database)}`;
}

async function otherSessions(client: pg.ClientBase, database: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
    [database],
  );
  return rows[0]?.n ?? 0;
}

/** Waits up to 2 s for closed sessions of `database` to leave pg_stat_activity (their backends exit after the socket closes). */
async function sessionsGone(client: pg.ClientBase, database: string): Promise<void> {
  for (let i = 0; i < 40 && (await otherSessions(client, database)) > 0; i++) {
    await new Promise((done) => setTimeout(done, 50));
  }
}

async function databaseExists(client: pg.ClientBase, database: string): Promise<boolean> {
  const { rows } = await client.query('select 1 from pg_database where datname = $1', [database]);
  return rows.length > 0;
}

/**
 * Swaps `fresh` in as `live`: blocks new connections to `live`, ends (or refuses) its sessions,
 * renames it to `previous`, renames `fresh` to `live`. On failure puts everything back.
 */
async function swapIn(
  client: pg.ClientBase,
  live: string,
  fresh: string,
  previous: string,
  terminate: boolean,
  drainOwnPool: (() => Promise<void>) | undefined,
): Promise<void> {
  await client.query(`alter database ${quoteIdentifier(live)} allow_connections false`);
  let renamedLive = false;
  try {
    // The instance's own pool (cb.backups): closed now that it cannot reconnect until the swap.
    if (drainOwnPool !== undefined) {
      await drainOwnPool();
      await sessionsGone(client, live);
    }
    if (terminate) {
      await client.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [live],
      );
      // Terminated backends take a moment to go away.
      for (let i = 0; i < 50 && (await otherSessions(client, live)) > 0; i++) {
        await new Promise((done) => setTimeout(done, 100));
      }
    }
    if ((await otherSessions(client, live)) > 0) {
      throw new BackupError(
        `database ${live} has active connections; close them or pass terminateConnections: true`,
      );
    }
    await client.query(`alter database ${quoteIdentifier(live)} rename to ${quoteIdentifier(previous)}`);
    renamedLive = true;
    await client.query(`alter database ${quoteIdentifier(fresh)} rename to ${quoteIdentifier(live)}`);
    await client.query(`alter database ${quoteIdentifier(previous)} allow_connections true`);
  } catch (error) {
    if (renamedLive) {
      await client
        .query(`alter database ${quoteIdentifier(previous)} rename to ${quoteIdentifier(live)}`)
        .catch(() => {});
    }
    await client.query(`alter database ${quoteIdentifier(live)} allow_connections true`).catch(() => {});
    throw error;
  }
}

/**
 * Restores an archive, verified first (checksum and `pg_restore --list`), with
 * `pg_restore --no-owner --exit-on-error`, then (by default for `replace`, with
 * `checkRowCounts: true` for `new`) compares every table's row count with the manifest.
 *
 * - `mode: 'new'` (default) creates a new database (`target`, default `<db>_restored_<time>`),
 *   restores into it and returns where it is; the live database is never touched.
 * - `mode: 'replace'` restores into a fresh database, checks its row counts against the manifest,
 *   then swaps it in by `ALTER DATABASE ... RENAME`, keeping the old database as
 *   `<db>_previous_<time>` until you call {@link dropPreviousDatabase}. It refuses while other
 *   sessions use the live database, unless `terminateConnections: true` (close your own pools
 *   first, or pass it).
 *
 * A failed restore drops the database it created; the live one is left as it was.
 *
 * Throws `ValidationError` for bad options; `BackupError` when verification fails, the target
 * exists, the live database is busy, pg_restore fails or the row counts differ; `AbortError`
 * when cancelled; `ConnectionError` when the server is unreachable. Do not run two replaces of
 * the same database at once: the second one's swap fails and leaves the first one's result.
 *
 * @example
 * ```ts
 * import { restoreBackup } from 'carebase/backup';
 * const restored = await restoreBackup('/var/backups/app/app-2026-01-31T02-00-00-000Z.dump', {
 *   connectionString: process.env.DATABASE_URL,
 * });
 * console.log(`inspect it at ${restored.displayUrl}`);
 * ```
 */
export async function restoreBackup(
  path: string,
  options: RestoreBackupOptions = {},
  /** @internal `cb.backups.restore` passes how to drain the instance's own pool. */
  internal: { readonly drainOwnPool?: () => Promise<void> } = {},
): Promise<RestoreResult> {
  const parsed = parseInput(
    RestoreBackupOptionsSchema.extend({ path: z.string().min(1) }),
    { ...options, path },
    'restore options',
  ) as RestoreBackupOptions;
  const config = resolveBackupConfig(options);
  const mode = parsed.mode ?? 'new';
  const maintenance = parsed.maintenanceDatabase ?? 'postgres';
  const archive = resolve(path);
  const { signal } = parsed;
  const started = performance.now();
  let items = 0;
  let itemsTotal = 0;
  const report = (phase: RestoreProgress['phase']): void =>
    parsed.onProgress?.({
      phase,
      itemsDone: Math.min(items, itemsTotal),
      itemsTotal,
      elapsedMs: Math.round(performance.now() - started),
    });
  let created: string | undefined;
  try {
    report('verifying');
    const verification = await verifyBackup(archive, { binDir: parsed.binDir, signal });
    if (!verification.ok || verification.manifest === undefined) {
      throw new BackupError(
        `refusing to restore an archive that failed verification: ${verification.problems.join('; ')}`,
      );
    }
    const manifest = verification.manifest;
    itemsTotal = verification.archiveItems ?? 0;
    const now = new Date();
    const live = mode === 'replace' ? (parsed.target ?? config.connection.database) : undefined;
    const target =
      mode === 'new'
        ? (parsed.target ?? `${manifest.database.slice(0, 38)}_restored_${stamp(now)}`)
        : `${(live ?? '').slice(0, 36)}_restoring_${randomBytes(4).toString('hex')}`;
    const previous = live === undefined ? undefined : `${live.slice(0, 38)}_previous_${stamp(now)}`;
    const server = await withClient(config, maintenance, async (client) => {
      const info = await readServerInfo(client);
      if (await databaseExists(client, target)) {
        throw new BackupError(`database ${target} already exists; choose another target`);
      }
      if (live !== undefined && previous !== undefined) {
        if (!(await databaseExists(client, live))) throw new BackupError(`database ${live} does not exist`);
        if (await databaseExists(client, previous)) {
          throw new BackupError(`database ${previous} already exists; drop it first`);
        }
        if (internal.drainOwnPool !== undefined) {
          await internal.drainOwnPool();
          await sessionsGone(client, live);
        }
        if (parsed.terminateConnections !== true && (await otherSessions(client, live)) > 0) {
          throw new BackupError(
            `database ${live} has active connections; close them or pass terminateConnections: true`,
          );
        }
      }
      return info;
    });
    const tools = await findPgTools({ minMajor: server.major, binDir: parsed.binDir });
    report('restoring');
    created = target;
    await restoreInto({
      config,
      tools,
      archive,
      database: target,
      maintenanceDatabase: maintenance,
      jobs: parsed.jobs,
      signal,
      ...(parsed.onProgress === undefined
        ? {}
        : {
            onItem: () => {
              items++;
              report('restoring');
            },
          }),
    });
    if (parsed.checkRowCounts ?? mode === 'replace') {
      report('checking');
      const counts = await withClient(config, target, countTableRows);
      const mismatches = compareRowCounts(manifest.tables, counts);
      if (mismatches.length > 0) {
        throw new BackupError(
          `restored row counts differ from the manifest in ${mismatches.length} table(s): ${mismatches
            .slice(0, 5)
            .map((m) => m.table)
            .join(', ')}`,
        );
      }
    }
    if (signal?.aborted) throw new AbortError({ cause: signal.reason });
    let database = target;
    if (live !== undefined && previous !== undefined) {
      report('swapping');
      await withClient(config, maintenance, (client) =>
        swapIn(client, live, target, previous, parsed.terminateConnections === true, internal.drainOwnPool),
      );
      database = live;
    }
    created = undefined;
    let previousDropped = false;
    if (live !== undefined && previous !== undefined && parsed.dropPrevious === true) {
      report('checking');
      // Verified: the live name now answers with the archive's data; only then is the old one dropped.
      const counts = await withClient(config, live, countTableRows);
      const mismatches = compareRowCounts(manifest.tables, counts);
      if (mismatches.length > 0) {
        throw new BackupError(
          `after the swap, row counts of ${live} differ from the manifest in ${mismatches.length} table(s); the previous database ${previous} is kept`,
        );
      }
      await dropDatabase(config, maintenance, previous);
      previousDropped = true;
    }
    items = itemsTotal;
    report('done');
    const durationMs = Math.round(performance.now() - started);
    config.logger.info(
      { archive, mode, database, previousDatabase: previous, durationMs },
      'carebase: backup restored',
    );
    return {
      mode,
      database,
      displayUrl: displayUrlFor(config, database),
      connection: {
        host: config.connection.host,
        port: config.connection.port,
        user: config.connection.user,
        database,
      },
      previousDatabase: previous,
      previousDropped,
      durationMs,
    };
  } catch (error) {
    if (created !== undefined) await dropDatabase(config, maintenance, created).catch(() => {});
    const mapped = toBackupFailure(error, 'restore failed');
    config.logger.error({ err: { code: mapped.code }, archive, mode }, 'carebase: restore failed');
    throw mapped;
  }
}

/**
 * Validates {@link dropPreviousDatabase}'s options.
 *
 * @example
 * ```ts
 * import { DropPreviousOptionsSchema, dropPreviousDatabase } from 'carebase/backup';
 * // Clean-up after a confirmed `replace` restore, with settings checked first.
 * const parsed = DropPreviousOptionsSchema.safeParse({ connectionString: process.env.DATABASE_URL });
 * if (!parsed.success) throw new Error('DATABASE_URL is not a usable connection string');
 * await dropPreviousDatabase('app_previous_20260131_020000', parsed.data);
 * ```
 */
export const DropPreviousOptionsSchema = z.strictObject({
  ...BackupConnectionShape,
  maintenanceDatabase: z.string().min(1).optional(),
});

/**
 * Drops a database that `restoreBackup({ mode: 'replace' })` set aside (its `previousDatabase`).
 * Only names of the form `<db>_previous_<YYYYMMDD_HHMMSS>` are accepted, so it cannot drop a live
 * database by mistake. Ends the sessions still connected to it.
 *
 * Throws `ValidationError` for any other name, `ConnectionError` when the server is unreachable.
 * Idempotent: dropping a database that is already gone succeeds.
 *
 * @example
 * ```ts
 * import { dropPreviousDatabase, restoreBackup } from 'carebase/backup';
 * const result = await restoreBackup(path, { connectionString, mode: 'replace', terminateConnections: true });
 * // ... after checking the application works on the restored data:
 * await dropPreviousDatabase(result.previousDatabase!, { connectionString });
 * ```
 */
export async function dropPreviousDatabase(
  database: string,
  options: BackupConnectionOptions & { readonly maintenanceDatabase?: string | undefined } = {},
): Promise<void> {
  parseInput(
    DropPreviousOptionsSchema.extend({
      database: z
        .string()
        .regex(/_previous_\d{8}_\d{6}$/, 'is not a database set aside by a replace restore'),
    }),
    { ...options, database },
    'drop options',
  );
  const config = resolveBackupConfig(options);
  try {
    await dropDatabase(config, options.maintenanceDatabase ?? 'postgres', database);
  } catch (error) {
    throw toBackupFailure(error, 'drop failed');
  }
  config.logger.info({ database }, 'carebase: previous database dropped');
}
