import type { ResolvedConfig } from '../config/resolve.js';
import { type BackupResult, type CreateBackupOptions, createBackup } from './create-backup.js';
import { type BackupEntry, type ListBackupsOptions, listBackups } from './list-backups.js';
import { type PruneBackupsOptions, type PruneResult, pruneBackups } from './prune-backups.js';
import { type RestoreBackupOptions, type RestoreResult, restoreBackup } from './restore-backup.js';
import { type VerifyBackupOptions, type VerifyResult, verifyBackup } from './verify-backup.js';

/**
 * Backup options without the connection fields (`cb.backups` supplies the instance's own).
 *
 * @example
 * ```ts
 * import type { CreateBackupOptions, WithoutConnection } from 'carebase/backup';
 * // What cb.backups.create() takes: the backup's own options; the instance supplies the connection.
 * const nightly: WithoutConnection<CreateBackupOptions> = {
 *   name: `nightly-${new Date().toISOString().slice(0, 10)}`,
 *   compression: 6,
 * };
 * const backup = await cb.backups.create(nightly);
 * ```
 */
export type WithoutConnection<T> = Omit<
  T,
  | 'carebase'
  | 'connectionString'
  | 'host'
  | 'port'
  | 'database'
  | 'user'
  | 'password'
  | 'ssl'
  | 'schema'
  | 'backupDir'
  | 'logger'
>;

/**
 * `cb.backups`: the `carebase/backup` functions bound to one instance's configuration
 * (connection, schema, `backupDir`, logger). Each call opens its own connections and child
 * processes; the instance's pool is not used, so backups never take application connections.
 *
 * @example
 * ```ts
 * const backup = await cb.backups.create();
 * const { items } = await cb.backups.list();
 * const check = await cb.backups.verify(backup.path, { trialRestore: true });
 * await cb.backups.prune({ keepLast: 10, maxAgeDays: 30 });
 * ```
 */
export class BackupsApi {
  readonly #carebase: { readonly config: ResolvedConfig };
  readonly #drainOwnPool: (() => Promise<void>) | undefined;

  /** @internal Built by `Carebase`. */
  constructor(config: ResolvedConfig, drainOwnPool?: () => Promise<void>) {
    this.#carebase = { config };
    this.#drainOwnPool = drainOwnPool;
  }

  /** {@link createBackup} with this instance's configuration. Same throws and guarantees. */
  create(options: WithoutConnection<CreateBackupOptions> = {}): Promise<BackupResult> {
    return createBackup({ ...options, carebase: this.#carebase });
  }

  /** {@link listBackups} of this instance's `backupDir` (or `dir`). */
  list(
    options: Omit<ListBackupsOptions, 'carebase' | 'backupDir'> = {},
  ): Promise<{ items: BackupEntry[]; nextCursor: string | undefined }> {
    return listBackups({ ...options, carebase: this.#carebase });
  }

  /** {@link verifyBackup}; a trial restore uses this instance's server. */
  verify(path: string, options: WithoutConnection<VerifyBackupOptions> = {}): Promise<VerifyResult> {
    return verifyBackup(path, { ...options, carebase: this.#carebase });
  }

  /**
   * {@link restoreBackup} on this instance's server (`replace` targets its database by default).
   * Replacing the instance's own database handles the instance's own pool: its connections are
   * drained (closed once none is checked out) before the checks and again at the swap, so they do
   * not count as other sessions, and the pool reconnects to the restored database on its next use.
   * Other clients' sessions still refuse the swap unless `terminateConnections`.
   */
  restore(path: string, options: WithoutConnection<RestoreBackupOptions> = {}): Promise<RestoreResult> {
    const own =
      options.mode === 'replace' &&
      (options.target ?? this.#carebase.config.connection.database) ===
        this.#carebase.config.connection.database;
    return restoreBackup(
      path,
      { ...options, carebase: this.#carebase },
      own && this.#drainOwnPool !== undefined ? { drainOwnPool: this.#drainOwnPool } : {},
    );
  }

  /** {@link pruneBackups} of this instance's `backupDir` (or `dir`). */
  prune(options: Omit<PruneBackupsOptions, 'carebase' | 'backupDir'> = {}): Promise<PruneResult> {
    return pruneBackups({ logger: this.#carebase.config.logger, ...options, carebase: this.#carebase });
  }
}
