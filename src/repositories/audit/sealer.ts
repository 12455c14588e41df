import { CompiledQuery } from 'kysely';
import { quoteIdentifier } from '../../sql/identifier.js';
import { type CarebaseRuntime, RuntimeState } from '../context.js';

/** After a pass sealed at least this many entries (a bulk load), stale statistics are refreshed. */
const BULK_SEALED = 10_000;

/**
 * Seals committed audit entries into their months' hash chains by calling `audit_seal()` on the
 * instance's root executor (never inside a caller's transaction). With `sealAfterWrite`,
 * `cb.audit.log()` outside a transaction seals in its own group statement (`AuditBatchInsert`);
 * passes here serve entries written inside transactions, the default group insert (sealed just
 * after), that path's fallback, `verify()` and `cb.audit.seal()`. A pass covers every entry
 * committed before it was sent (it takes its snapshot after acquiring the sealing lock).
 *
 * Passes are coalesced: at most one is in flight and one queued behind it, which every caller
 * and timer arriving meanwhile joins; at most one timer and one late timer are armed. A pass first
 * asks `audit_seal_pending()` (read-only, no lock, no write), so a pass with nothing to seal costs
 * one cheap statement. Passes are serialized in the database (an advisory lock), so any number of
 * instances may seal concurrently.
 */
export class AuditSealer {
  readonly #runtime: CarebaseRuntime;
  readonly #sql: string;
  #inFlight = false;
  #queued: { promise: Promise<number>; start: () => void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #late: NodeJS.Timeout | undefined;
  #analyzing = false;
  /** Background work in flight (awaited by `close()`). */
  readonly #passes = new Set<Promise<void>>();

  constructor(runtime: CarebaseRuntime) {
    this.#runtime = runtime;
    const schema = quoteIdentifier(runtime.config.schema);
    // One statement, one round trip, in its own implicit transaction: the local setting applies to
    // that transaction's commit (see #run). CASE runs audit_seal() only when something is pending.
    this.#sql = runtime.prepared.get(
      'audit.seal',
      () =>
        `select set_config('synchronous_commit', 'off', true) as relaxed, case when ${schema}.audit_seal_pending() then ${schema}.audit_seal() else 0 end as sealed`,
    ).sql;
    // Its background passes are no caller's write: replica reads do not wait for them (a pass
    // inside sealUnbounded()'s transaction still counts, by its commit).
    runtime.replicas?.ignoreWrites(this.#sql);
  }

  /** Runs (or joins a not yet sent) sealing pass that covers every entry committed before this call. */
  seal(): Promise<number> {
    if (this.#queued !== undefined) return this.#queued.promise;
    if (!this.#inFlight) return this.#send();
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
   * Seals soon, in the background: a pass after `delayMs` (unless one is already armed: entries
   * logged meanwhile share it), and with `late` (entries of a transaction that may commit after
   * that pass) another a second later, unless a late pass is already armed. Failures (e.g. the
   * connection was lost) are logged and otherwise ignored: the next pass, or `verify()`, seals
   * whatever is left. `cb.close()` runs an armed pass at once and waits.
   */
  schedule(delayMs = 50, late = true): void {
    if (this.#runtime.closing) return;
    if (late && this.#late === undefined) {
      this.#late = setTimeout(() => {
        this.#late = undefined;
        this.#background();
      }, 1000);
      this.#late.unref();
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#background();
    }, delayMs);
    this.#timer.unref();
  }

  #background(): void {
    this.#track(
      this.seal().then(
        () => undefined,
        (error: unknown) => {
          this.#runtime.config.logger.debug(
            { code: (error as { code?: string }).code },
            'carebase: background audit sealing failed',
          );
        },
      ),
    );
  }

  #track(work: Promise<void>): void {
    const tracked = work.finally(() => this.#passes.delete(tracked));
    this.#passes.add(tracked);
  }

  /**
   * Called by `cb.close()` (the runtime's close hook): a pass that was only scheduled runs now,
   * no timer is left behind, and background work in flight is awaited.
   */
  async close(): Promise<void> {
    const pending = this.#timer !== undefined || this.#late !== undefined;
    clearTimeout(this.#timer);
    clearTimeout(this.#late);
    this.#timer = undefined;
    this.#late = undefined;
    if (pending) this.#background();
    while (this.#passes.size > 0) await Promise.all([...this.#passes]);
  }

  async #send(): Promise<number> {
    this.#inFlight = true;
    try {
      return this.#afterPass(await this.#run());
    } finally {
      this.#inFlight = false;
      this.#queued?.start();
    }
  }

  /**
   * One pass without the pool's statement timeout (a bulk load may leave millions of entries to
   * seal), in its own transaction. Used by `cb.audit.seal()`.
   */
  async sealUnbounded(): Promise<number> {
    const sealed = await this.#runtime.db.transaction().execute(async (trx) => {
      await trx.executeQuery(CompiledQuery.raw('set local statement_timeout = 0', []));
      const result = await trx.executeQuery(CompiledQuery.raw(this.#sql, []));
      return (result.rows[0] as { sealed: number } | undefined)?.sealed ?? 0;
    });
    return this.#afterPass(sealed);
  }

  /** After a bulk pass: refresh the statistics of audit partitions that lack them (background). */
  #afterPass(sealed: number): number {
    if (sealed >= BULK_SEALED && !this.#analyzing && !this.#runtime.closing) {
      this.#analyzing = true;
      const schema = quoteIdentifier(this.#runtime.config.schema);
      this.#track(
        this.#runtime.db
          .executeQuery(CompiledQuery.raw(`select ${schema}.audit_analyze_stale() as analyzed`, []))
          .then(
            () => undefined,
            (error: unknown) => {
              this.#runtime.config.logger.debug(
                { code: (error as { code?: string }).code },
                'carebase: analyzing audit partitions failed',
              );
            },
          )
          .finally(() => {
            this.#analyzing = false;
          }),
      );
    }
    return sealed;
  }

  async #run(): Promise<number> {
    // The seal's commit need not wait for its WAL flush: a seal lost in a crash is redone by the
    // next pass (it seals every committed entry that has no link), so the entries' own durability
    // is untouched while the writers' wait for sealing drops to one round trip.
    const rows = await this.#runtime.runPrepared<{ sealed: number }>({ sql: this.#sql, parameters: [] });
    return rows[0]?.sealed ?? 0;
  }
}

const SEALER = new RuntimeState('audit sealer', (runtime) => new AuditSealer(runtime));

/** The sealer of a carebase instance (one per instance, on its runtime). */
export function auditSealerOf(runtime: CarebaseRuntime): AuditSealer {
  return runtime.state(SEALER);
}
