import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { ResolvedConfig, ResolvedConnection } from '../config/resolve.js';
import { toCarebaseError } from '../errors/map-error.js';
import type { CarebaseDatabase } from '../schema/database.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { createPool, transactionSettingsFrom } from './create-pool.js';
import { CarebaseKyselyPool } from './kysely-pool.js';
import { formatLsn, parseLsn } from './lsn.js';
import { poolKysely } from './pool-kysely.js';
import type { PreparedStatements } from './prepared-statements.js';

/**
 * Where a replica stands: `ready` (in rotation), `lagging` (replay further behind than
 * `maxLagMs`), `down` (unreachable, or a read on it failed), `starting` (it refused connections
 * while starting or recovering, 57P03), `promoted` (no longer in recovery: a primary of its own,
 * whose data may have diverged), `unknown` (not checked yet). Only `ready` takes reads.
 *
 * @example
 * ```ts
 * import type { ReplicaState } from 'carebase';
 * const states: ReplicaState[] = (await cb.health()).replicas.map((replica) => replica.state);
 * if (states.includes('promoted')) console.warn('a replica was promoted: check the failover');
 * ```
 */
export type ReplicaState = 'unknown' | 'ready' | 'lagging' | 'down' | 'starting' | 'promoted';

/**
 * One replica in `cb.health().replicas`.
 *
 * @example
 * ```ts
 * import type { ReplicaHealth } from 'carebase';
 * const report = await cb.health();
 * const replicas: readonly ReplicaHealth[] = report.replicas;
 * for (const replica of replicas) console.log(replica.url, replica.state, replica.lagMs);
 * ```
 */
export interface ReplicaHealth {
  /** The replica's URL with the password masked. */
  readonly url: string;
  readonly state: ReplicaState;
  /** Whether reads go to it now (`state` is `ready`). */
  readonly inRotation: boolean;
  /**
   * How far its replay is behind the primary, in milliseconds (0 when it has replayed every
   * position the primary was last seen at); undefined when unknown (never reached).
   */
  readonly lagMs: number | undefined;
  /** Its `pg_last_wal_replay_lsn()` at the last check, e.g. `0/3016060`. */
  readonly replayLsn: string | undefined;
  /** Reads served by it since the instance started. */
  readonly reads: number;
  /** Reads meant for it that went to the primary (it was behind the caller's writes, or failed). */
  readonly fallbacks: number;
  /** Why it is out of rotation, when a check or a read failed. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What a check or a wait reads on a replica: one row, one round trip. */
const STATUS_SQL = 'select pg_is_in_recovery() as recovery, pg_last_wal_replay_lsn()::text as replay';

/** Checks of a read-your-writes wait sent back to back before timers space them out. */
const IMMEDIATE_CHECKS = 3;

interface StatusRow {
  readonly recovery: boolean;
  readonly replay: string | null;
}

/** SQLSTATE 57P03: the server is starting up, shutting down or in crash recovery. */
function isStarting(error: unknown): boolean {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const state = (e as { sqlState?: unknown; code?: unknown }).sqlState ?? (e as { code?: unknown }).code;
    if (state === '57P03' || (e as { reason?: unknown }).reason === 'server_not_ready') return true;
  }
  return false;
}

/**
 * One read replica: its own pool (same sizing, timeouts and TLS as the primary's; every client
 * watched for its whole life) and a Kysely on it, with the state routing uses.
 */
export class Replica {
  readonly connection: ResolvedConnection;
  readonly connections: CarebaseKyselyPool;
  readonly db: Kysely<CarebaseDatabase>;
  readonly #prepared: PreparedStatements;
  readonly #pool: pg.Pool;
  #state: ReplicaState = 'unknown';
  #replay = 0n;
  #lagMs: number | undefined;
  #error: { readonly code: string; readonly message: string } | undefined;
  reads = 0;
  fallbacks = 0;

  constructor(
    config: ResolvedConfig,
    connection: ResolvedConnection,
    prepared: PreparedStatements,
    telemetry?: Telemetry,
  ) {
    this.connection = connection;
    this.#prepared = prepared;
    const replicaConfig = Object.freeze({ ...config, connection });
    this.#pool = createPool(replicaConfig);
    this.connections = new CarebaseKyselyPool(
      this.#pool,
      prepared,
      true,
      transactionSettingsFrom(config),
      telemetry,
    );
    this.db = poolKysely(this.connections, config.schema);
  }

  /** Whether `error` is the server refusing connections while it starts or recovers (57P03). */
  static refusing(error: unknown): boolean {
    return isStarting(error);
  }

  get state(): ReplicaState {
    return this.#state;
  }

  get inRotation(): boolean {
    return this.#state === 'ready';
  }

  /** The replay position last seen (0 after a failure: a restarted replica may start lower). */
  get replay(): bigint {
    return this.#replay;
  }

  /** Reads the replica's recovery state and replay position (throws a carebase error). */
  async status(): Promise<{ readonly recovery: boolean; readonly replay: bigint }> {
    const statement = this.#prepared.get('replica.status', () => STATUS_SQL);
    const connection = await this.connections.connect();
    try {
      const [row] = (await connection.query<StatusRow>(statement.sql, [])).rows;
      return this.#observe(row);
    } finally {
      connection.release();
    }
  }

  /**
   * Waits until the replica has replayed `target` (polling its position on one connection), for
   * at most `timeoutMs`: `ok`, `timeout`, or `promoted` (it left recovery: never reads there).
   * Throws a carebase error when the replica cannot be reached.
   */
  async waitFor(target: bigint, timeoutMs: number): Promise<'ok' | 'timeout' | 'promoted'> {
    if (this.#replay >= target) return 'ok';
    const deadline = performance.now() + timeoutMs;
    const statement = this.#prepared.get('replica.status', () => STATUS_SQL);
    const connection = await this.connections.connect();
    try {
      // Loopback replay takes a fraction of a millisecond: the first few checks follow one another
      // at once (one round trip each), then back off on timers up to 20 ms apart.
      for (let attempt = 0; ; attempt++) {
        const [row] = (await connection.query<StatusRow>(statement.sql, [])).rows;
        const status = this.#observe(row);
        if (!status.recovery) return 'promoted';
        if (status.replay >= target) return 'ok';
        const left = deadline - performance.now();
        if (left <= 0) return 'timeout';
        if (attempt >= IMMEDIATE_CHECKS) {
          const delay = Math.min(2 ** (attempt - IMMEDIATE_CHECKS), 20, left);
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    } finally {
      connection.release();
    }
  }

  #observe(row: StatusRow | undefined): { readonly recovery: boolean; readonly replay: bigint } {
    const recovery = row?.recovery === true;
    const replay = parseLsn(row?.replay);
    if (!recovery) {
      this.#state = 'promoted';
      this.#error = undefined;
    } else if (replay > this.#replay) {
      this.#replay = replay;
    }
    return { recovery, replay };
  }

  /** Sets the state from a background check: in recovery with `lagMs` of lag. */
  checked(lagMs: number, maxLagMs: number): void {
    if (this.#state === 'promoted') return;
    this.#lagMs = lagMs;
    this.#error = undefined;
    this.#state = lagMs > maxLagMs ? 'lagging' : 'ready';
  }

  /** Takes the replica out of rotation after `error` (a failed check or read). */
  failed(error: unknown): void {
    const mapped = toCarebaseError(error);
    this.#state = isStarting(error) ? 'starting' : 'down';
    this.#error = { code: mapped.code, message: mapped.message };
    this.#replay = 0n;
    this.#lagMs = undefined;
  }

  /** Leaves `promoted` when a check finds the server back in recovery (rebuilt as a standby). */
  resetPromoted(): void {
    if (this.#state === 'promoted') this.#state = 'unknown';
  }

  health(): ReplicaHealth {
    return {
      url: this.connection.displayUrl,
      state: this.#state,
      inRotation: this.inRotation,
      lagMs: this.#lagMs,
      replayLsn: this.#replay === 0n ? undefined : formatLsn(this.#replay),
      reads: this.reads,
      fallbacks: this.fallbacks,
      ...(this.#error === undefined ? {} : { error: this.#error }),
    };
  }

  /** Ends the replica's pool (waits for checked-out connections). */
  end(): Promise<void> {
    return this.connections.end();
  }
}
