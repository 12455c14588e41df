import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ConnectionError } from '../errors/errors.js';
import {
  type LocalCluster,
  type LocalClusterOptions,
  REPLICATION_SETTINGS,
  type RestartMode,
  startCluster,
} from './local-cluster.js';

/**
 * A streaming hot standby of a throwaway cluster, made by `startPostgres({ replicas })`: a copy
 * taken with `pg_basebackup -R` from the primary, replaying its WAL as it is written, read-only
 * until promoted.
 *
 * @example
 * ```ts
 * import { startPostgres } from 'carebase/testing';
 * await using server = await startPostgres({ provider: 'local', replicas: 1 });
 * const [standby] = server.replicas;
 * console.log(standby?.url); // reads here; writes go to server.url
 * await standby?.promote(); // now a primary of its own
 * ```
 */
export interface TestStandby {
  /** A superuser URL to the standby's `postgres` database (read-only while it is a standby). */
  readonly url: string;
  /** Stops the standby and starts it again on the same port and data (it resumes streaming). */
  restart(options?: { readonly mode?: RestartMode }): Promise<void>;
  /**
   * Promotes the standby (`pg_promote()`, as `pg_ctl promote` does): it leaves recovery and
   * accepts writes, on a timeline of its own. Resolves once it is a primary.
   */
  promote(): Promise<void>;
  /** Stops the standby and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a streaming standby of `primary` (a cluster started with {@link REPLICATION_SETTINGS})
 * from the same binaries, as the same account. Throws `ConnectionError` when the binaries have no
 * `pg_basebackup` or the copy fails.
 */
export async function startStandby(
  primary: Pick<LocalCluster, 'url' | 'binDir'>,
  options: LocalClusterOptions = {},
): Promise<TestStandby> {
  const binDir = primary.binDir;
  if (!existsSync(join(binDir, 'pg_basebackup'))) {
    throw new ConnectionError(`no pg_basebackup in ${binDir}: a standby cannot be made from these binaries`);
  }
  const cluster = await startCluster(
    () => ({ dir: binDir, initdb: join(binDir, 'initdb'), postgres: join(binDir, 'postgres') }),
    { ...options, settings: { ...REPLICATION_SETTINGS, ...options.settings } },
    { kind: 'standby', sourceUrl: primary.url },
  );
  return {
    url: cluster.url,
    restart: (restartOptions) => cluster.restart(restartOptions),
    promote: () => promote(cluster.url),
    stop: () => cluster.stop(),
  };
}

async function promote(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ promoted: boolean }>('select pg_promote(true, 60) as promoted');
    if (rows[0]?.promoted !== true)
      throw new ConnectionError('the standby did not finish promotion within 60 s');
  } finally {
    await client.end().catch(() => {});
  }
}
