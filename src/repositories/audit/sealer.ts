import { CompiledQuery } from 'kysely';
import { quoteIdentifier } from '../../sql/identifier.js';
import { type CarebaseRuntime, RuntimeState } from '../context.js';

/** How many sealing passes one instance keeps in flight (they queue on the database lock). */
const MAX_IN_FLIGHT = 2;

/**
 * Seals committed audit entries into their months' hash chains by calling `audit_seal()` on the
 * instance's root executor (never inside a caller's transaction). `cb.audit.log()` outside a
 * transaction normally seals in its own group statement (`AuditBatchInsert`); passes here serve
 * entries written inside transactions, `sealAfterWrite: false`, that path's fallback, `verify()`
 * and `cb.audit.seal()`. A pass covers every entry
 * committed before it was sent (it takes its snapshot after acquiring the sealing lock). Up to two
 * passes are in flight at once, so a caller's pass waits on the database lock in parallel with the
 * running one instead of behind it; further callers share one queued pass. Passes are serialized
 * in the database (an advisory lock), so any number of instances may seal concurrently.
 */
export class AuditSealer {
  readonly #runtime: CarebaseRuntime;
  readonly #sql: string;
  #inFlight = 0;
  #queued: { promise: Promise<number>; start: () => void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #late: NodeJS.Timeout | undefined;
  /** Background passes in flight (awaited by `close()`). */
  readonly #passes = new Set<Promise<void>>();

  constructor(runtime: CarebaseRuntime) {
    this.#runtime = runtime;
    // One statement, one round trip, in its own implicit transaction: the local setting applies to
    // that transaction's commit (see #run).
    this.#sql = runtime.prepared.get(
      'audit.seal',
      () =>
        `select set_config('synchronous_commit', 'off', true) as relaxed, ${quoteIdentifier(runtime.config.schema)}.audit_seal() as sealed`,
    ).sql;
  }

  /** Runs (or joins a not yet sent) sealing pass that covers every entry committed before this call. */
  seal(): Promise<number> {
    if (this.#queued !== undefined) return this.#queued.promise;
    if (this.#inFlight < MAX_IN_FLIGHT) return this.#send();
    let start!: () => void;
    const promise = new Promise<number>((resolve, reject) => {
      start = () => {
        this.#queued = undefined;
        this.#send().then(resolve, reject);
      };
    });
    this.#queued = { promise, start };
    return promise;
  }

  /**
   * Seals soon, in the background (for entries written inside a transaction that has not
   * committed yet): a pass after `delayMs`, and another a second later for slow commits.
   * Failures (e.g. the connection was lost) are logged and otherwise ignored: the next pass, or
   * `verify()`, seals whatever is left. `cb.close()` runs a scheduled pass at once and waits.
   */
  schedule(delayMs = 50): void {
    if (this.#timer !== undefined || this.#runtime.closing) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#background();
      clearTimeout(this.#late);
      this.#late = setTimeout(() => {
        this.#late = undefined;
        this.#background();
      }, 1000);
      this.#late.unref();
    }, delayMs);
    this.#timer.unref();
  }

  #background(): void {
    const pass = this.seal()
      .then(
        () => undefined,
        (error: unknown) => {
          this.#runtime.config.logger.debug(
            { code: (error as { code?: string }).code },
            'carebase: background audit sealing failed',
          );
        },
      )
      .finally(() => this.#passes.delete(pass));
    this.#passes.add(pass);
  }

  /**
   * Called by `cb.close()` (the runtime's close hook): a pass that was only scheduled runs now,
   * no timer is left behind, and background passes in flight are awaited.
   */
  async close(): Promise<void> {
    const pending = this.#timer !== undefined || this.#late !== undefined;
    clearTimeout(this.#timer);
    clearTimeout(this.#late);
    this.#timer = undefined;
    this.#late = undefined;
    if (pending) this.#background();
    await Promise.all([...this.#passes]);
  }

  async #send(): Promise<number> {
    this.#inFlight++;
    try {
      return await this.#run();
    } finally {
      this.#inFlight--;
      this.#queued?.start();
    }
  }

  /**
   * One pass without the pool's statement timeout (a bulk load may leave millions of entries to
   * seal), in its own transaction. Used by `cb.audit.seal()`.
   */
  sealUnbounded(): Promise<number> {
    return this.#runtime.db.transaction().execute(async (trx) => {
      await trx.executeQuery(CompiledQuery.raw('set local statement_timeout = 0', []));
      const result = await trx.executeQuery(CompiledQuery.raw(this.#sql, []));
      return (result.rows[0] as { sealed: number } | undefined)?.sealed ?? 0;
    });
  }

  async #run(): Promise<number> {
    // The seal's commit need not wait for its WAL flush: a seal lost in a crash is redone by the
    // next pass (it seals every committed entry that has no link), so the entries' own durability
    // is untouched while the writers' wait for sealing drops to one round trip.
    const result = await this.#runtime.db.executeQuery(CompiledQuery.raw(this.#sql, []));
    return (result.rows[0] as { sealed: number } | undefined)?.sealed ?? 0;
  }
}

const SEALER = new RuntimeState('audit sealer', (runtime) => new AuditSealer(runtime));

/** The sealer of a carebase instance (one per instance, on its runtime). */
export function auditSealerOf(runtime: CarebaseRuntime): AuditSealer {
  return runtime.state(SEALER);
}
