import type pg from 'pg';
import { toCarebaseError } from '../errors/map-error.js';
import type { ReplicaHealth } from './replica.js';

/**
 * What `cb.health()` reports.
 *
 * @example
 * ```ts
 * import type { HealthReport } from 'carebase';
 * app.get('/healthz', async (_req, res) => {
 *   const report: HealthReport = await cb.health();
 *   // 503 while the server is unreachable or a migration is pending.
 *   res
 *     .status(report.ok ? 200 : 503)
 *     .json({ ok: report.ok, latencyMs: report.latencyMs, error: report.error?.code });
 * });
 * ```
 */
export interface HealthReport {
  /** True when the database answered and no migration (carebase's or a configured host source's) is pending. */
  readonly ok: boolean;
  /** Round-trip time of a trivial query, in milliseconds (including waiting for a connection). */
  readonly latencyMs: number;
  /** The server's `server_version`, e.g. `15.20`; undefined when it could not be reached. */
  readonly serverVersion: string | undefined;
  /** Connection counts of the pool at the time of the check. */
  readonly pool: { readonly total: number; readonly idle: number; readonly waiting: number };
  /**
   * Migrations not yet applied: carebase's own and those of the instance's `migrations.sources`;
   * undefined when it could not be determined.
   */
  readonly pendingMigrations: number | undefined;
  /** The error code when `ok` is false because a check failed. */
  readonly error?: { readonly code: string; readonly message: string };
  /**
   * Each configured read replica (empty without `replicas`), checked by this call: its state,
   * lag and counts. A replica out of rotation does not make `ok` false (reads go to the primary).
   */
  readonly replicas: readonly ReplicaHealth[];
  /**
   * The 95th percentile, in ms, of recent read-your-writes waits (a read waiting for a replica to
   * replay the instance's writes); undefined without replicas or before the first wait.
   */
  readonly replicaWaitP95Ms?: number | undefined;
}

/**
 * Runs the checks behind `cb.health()`; never throws. `probe` makes the round trip whose time is
 * `latencyMs` and returns the server version; `countPending` then counts pending migrations.
 */
export async function checkHealth(
  pool: pg.Pool,
  probe: () => Promise<string | undefined>,
  countPending: () => Promise<number>,
  replicas?: () => Promise<{ replicas: ReplicaHealth[]; lsnWaitP95Ms: number | undefined }>,
): Promise<HealthReport> {
  const replicaReport = replicas?.();
  const started = performance.now();
  let serverVersion: string | undefined;
  let pendingMigrations: number | undefined;
  let failure: HealthReport['error'];
  try {
    serverVersion = await probe();
  } catch (error) {
    const mapped = toCarebaseError(error);
    failure = { code: mapped.code, message: mapped.message };
  }
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;
  if (failure === undefined) {
    try {
      pendingMigrations = await countPending();
    } catch (error) {
      const mapped = toCarebaseError(error);
      failure = { code: mapped.code, message: mapped.message };
    }
  }
  const replicaHealth = await replicaReport;
  return {
    replicas: replicaHealth?.replicas ?? [],
    ...(replicaHealth === undefined ? {} : { replicaWaitP95Ms: replicaHealth.lsnWaitP95Ms }),
    ok: failure === undefined && pendingMigrations === 0,
    latencyMs,
    serverVersion,
    pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
    pendingMigrations,
    ...(failure === undefined ? {} : { error: failure }),
  };
}
