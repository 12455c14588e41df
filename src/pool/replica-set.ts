import type { ResolvedConfig } from '../config/resolve.js';
import { isCarebaseError } from '../errors/errors.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { replayTarget } from './lsn.js';
import type { PreparedStatements } from './prepared-statements.js';
import { Replica, type ReplicaHealth } from './replica.js';
import { WriteMark } from './write-mark.js';

/** Errors of the read itself (bad input, ownership, a closed instance): the primary would say the same. */
const CALLER_ERRORS = new Set([
  'VALIDATION_FAILED',
  'FORBIDDEN',
  'CONFLICT',
  'CONSTRAINT_VIOLATION',
  'CLOSED',
  'ABORTED',
]);

/** Samples of the primary's position kept for lag: enough for maxLagMs at the check interval. */
const MAX_SAMPLES = 512;

/**
 * The read replicas of one instance and the routing of stale-tolerant reads to them, with
 * read-your-writes: a read waits (at most `readYourWritesTimeoutMs`) until the chosen replica has
 * replayed the primary's position after the instance's latest finished write, else it reads on the
 * primary. A replica that fails a read or a check, refuses connections (57P03), lags past
 * `maxLagMs` or was promoted leaves rotation; background checks (an unref'd timer, awaited by
 * `close()`, never throwing) bring it back. Reads never fail because a replica failed: they run on
 * the primary instead.
 */
export class ReplicaSet {
  readonly #config: ResolvedConfig;
  readonly #replicas: readonly Replica[];
  readonly #mark = new WriteMark();
  readonly #primaryLsn: () => Promise<bigint>;
  /** (time, replay target) of the primary's position, oldest first. */
  readonly #samples: { readonly at: number; readonly lsn: bigint }[] = [];
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #closed = false;
  /** Recent read-your-writes waits (ms), for `health()`'s p95. */
  readonly #waits: number[] = [];

  /**
   * @param primaryLsn reads the primary's `pg_current_wal_insert_lsn()`
   * @param telemetry observes the replicas' statements like the primary's
   */
  constructor(
    config: ResolvedConfig,
    prepared: PreparedStatements,
    primaryLsn: () => Promise<bigint>,
    telemetry?: Telemetry,
  ) {
    this.#config = config;
    this.#primaryLsn = primaryLsn;
    this.#replicas = config.replicas.map(
      (connection) => new Replica(config, connection, prepared, telemetry),
    );
  }

  /** Hears every statement finished on a primary connection (see `WriteMark`). */
  readonly finished = (sql: string): void => {
    this.#mark.finished(sql);
  };

  /** Never counts `sql` (background bookkeeping) as a write of the instance; see `WriteMark.ignore`. */
  ignoreWrites(sql: string): void {
    this.#mark.ignore(sql);
  }

  /**
   * Runs a stale-tolerant read: `onReplica` on a replica that has replayed the instance's writes,
   * else (no replica in rotation, the wait timed out, the primary's position could not be read, or
   * the replica failed during the read) `onPrimary`. Errors of the caller's own making (validation,
   * forbidden) are rethrown as they are; a not-found is asked of the primary again.
   */
  async read<T>(onPrimary: () => Promise<T>, onReplica: (replica: Replica) => Promise<T>): Promise<T> {
    if (this.#closed) return onPrimary();
    this.#start();
    const replica = this.#pick();
    if (replica === undefined) return onPrimary();
    let target: bigint;
    try {
      target = replayTarget(await this.#mark.required(this.#primaryLsn));
    } catch {
      return onPrimary();
    }
    const started = performance.now();
    try {
      const waited = await replica.waitFor(target, this.#config.replicaReads.readYourWritesTimeoutMs);
      this.#recordWait(performance.now() - started);
      if (waited !== 'ok') {
        replica.fallbacks++;
        return onPrimary();
      }
    } catch (error) {
      this.#fail(replica, error);
      return onPrimary();
    }
    let result: T;
    try {
      result = await onReplica(replica);
    } catch (error) {
      // Not found on a replica may be a row written by another process and not replayed yet: the
      // primary has the last word (a real not-found costs one more statement).
      if (isCarebaseError(error, 'NOT_FOUND')) return onPrimary();
      if (!isCarebaseError(error) || CALLER_ERRORS.has(error.code)) throw error;
      this.#fail(replica, error);
      return onPrimary();
    }
    replica.reads++;
    return result;
  }

  /** Checks every replica now (joining a check in progress) and reports each. Never throws. */
  async health(): Promise<{ replicas: ReplicaHealth[]; lsnWaitP95Ms: number | undefined }> {
    this.#start();
    await this.#check();
    const sorted = [...this.#waits].sort((a, b) => a - b);
    const p95 =
      sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))];
    return {
      replicas: this.#replicas.map((replica) => replica.health()),
      lsnWaitP95Ms: p95 === undefined ? undefined : Math.round(p95 * 1000) / 1000,
    };
  }

  /** Stops the background checks (awaiting one in progress) and ends every replica's pool. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#round;
    await Promise.all(this.#replicas.map((replica) => replica.end()));
  }

  #recordWait(ms: number): void {
    this.#waits.push(ms);
    if (this.#waits.length > 1024) this.#waits.splice(0, this.#waits.length - 1024);
  }

  #fail(replica: Replica, error: unknown): void {
    replica.fallbacks++;
    // A busy pool, a statement timeout or a recovery conflict fails this read only: the replica
    // stays in rotation. A lost or refused connection takes it out until a check reaches it.
    if (!isCarebaseError(error, 'CONNECTION_FAILED') && !Replica.refusing(error)) return;
    replica.failed(error);
    this.#config.logger.warn(
      {
        replica: replica.connection.displayUrl,
        code: (error as { code?: string }).code,
        state: replica.state,
      },
      'carebase: a read replica left rotation; reads go to the primary until a check finds it healthy',
    );
  }

  /** Round robin over the replicas in rotation. */
  #pick(): Replica | undefined {
    const count = this.#replicas.length;
    for (let i = 0; i < count; i++) {
      const replica = this.#replicas[(this.#next + i) % count];
      if (replica?.inRotation) {
        this.#next = (this.#next + i + 1) % count;
        return replica;
      }
    }
    return undefined;
  }

  /** Starts the background checks on first use, with one check at once. */
  #start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => void this.#check(), this.#config.replicaReads.checkIntervalMs);
    this.#timer.unref();
    void this.#check();
  }

  /** One check of every replica (joins the one in progress). Never rejects. */
  #check(): Promise<void> {
    this.#round ??= this.#checkAll().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async #checkAll(): Promise<void> {
    try {
      const at = performance.now();
      const lsn = replayTarget(await this.#primaryLsn());
      const last = this.#samples.at(-1);
      if (last === undefined || lsn > last.lsn) this.#samples.push({ at, lsn });
      if (this.#samples.length > MAX_SAMPLES) this.#samples.shift();
    } catch {
      // The primary is unreachable: lag is judged on the positions already seen.
    }
    await Promise.all(
      this.#replicas.map(async (replica) => {
        if (this.#closed) return;
        try {
          const status = await replica.status();
          if (!status.recovery) return; // promoted: stays out of rotation
          replica.resetPromoted();
          replica.checked(this.#lagOf(status.replay), this.#config.replicaReads.maxLagMs);
        } catch (error) {
          replica.failed(error);
        }
      }),
    );
  }

  /**
   * How long ago the primary first held WAL this replay position lacks (0 when it has replayed
   * the latest position seen): a time lag that is 0 on an idle primary.
   */
  #lagOf(replay: bigint): number {
    const now = performance.now();
    const unreplayed = this.#samples.find((sample) => sample.lsn > replay);
    return unreplayed === undefined ? 0 : Math.round(now - unreplayed.at);
  }
}
