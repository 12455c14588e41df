import { DriverErrorSummary } from '../../errors/map-error.js';
import { AfterMicrotasks } from '../after-microtasks.js';
import { type CarebaseRuntime, RuntimeState } from '../context.js';
import { type SessionStatements, sessionStatements, type ValidateRow } from './session-statements.js';

/**
 * Validations on the wire at once; a validation arriving while this many are out waits for the
 * first to come back and goes with the others that arrived meanwhile, in one statement.
 */
const MAX_IN_FLIGHT = 2;
/** Tokens per coalesced statement, at most. */
const MAX_BATCH = 64;

interface Waiting {
  readonly parameters: readonly [Buffer, Date, Date];
  readonly resolve: (row: ValidateRow | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent `sessions.validate` lookups of one instance behind a transaction pooler
 * (outside transactions, without row-level security), the way Prisma batches `findUnique` and
 * DataLoader batches loads: the lookups made in one run of microtasks (DataLoader's window: a
 * returning statement's callers that validate again at once are in it) go out when it ends, in up
 * to {@link MAX_IN_FLIGHT} statements, shared evenly; those arriving while that many are out are
 * sent when one comes back. A statement for one token is the one-token statement; for several, one
 * call of `session_validate_json_many` (migration 0051) that looks up every token with its own
 * `now` and idle cutoff. Each caller gets exactly the row its own statement would have returned,
 * or its error. A lone caller waits for no other call; under load a caller waits at most one round
 * trip, as it would for a pooled connection. Sending the first arrival at once instead split 8
 * looping callers into a lone statement and a statement of seven: 0.61-0.62x of the same calls
 * made directly, against 0.82x (`BENCH_ROUNDS=5 npm run bench -- pooler`, quiet machine,
 * 2026-12-07).
 *
 * Why behind a pooler only: there every statement is parsed and planned by the server and crosses
 * the pooler, so sharing one among the callers pays (8 callers through PgBouncer: 0.65-0.72x of
 * the same calls made directly before, 0.92-1.03x after; bench/pooler.bench.ts). Connected
 * directly a validation is one named prepared statement, and holding callers back to two
 * statements in flight measured slower (0.74-0.83x of raw vs 0.85-0.92x at 8 callers).
 */
export class ValidateBatcher {
  readonly #runtime: CarebaseRuntime;
  readonly #statements: SessionStatements;
  #inFlight = 0;
  #waiting: Waiting[] = [];
  /**
   * False once the database turned out not to have `session_validate_json_many` (migration 0051
   * not applied yet: the code was upgraded before `migrate()` ran): every call is then its own
   * statement, as before, instead of failing under load only.
   */
  #coalesce = true;
  /** Sends what waits once the callers a returning statement resumed have joined (see AfterMicrotasks). */
  readonly #sendSoon = new AfterMicrotasks(() => this.#sendWaiting());
  /** Resolved once nothing is in flight or waiting (see {@link ValidateBatcher.close}). */
  #idle: (() => void)[] = [];

  constructor(runtime: CarebaseRuntime) {
    this.#runtime = runtime;
    this.#statements = sessionStatements(runtime);
  }

  /** The validate row of one token (parameters: token hash, now, idle cutoff), if any. */
  async validate(parameters: readonly [Buffer, Date, Date]): Promise<ValidateRow | undefined> {
    if (!this.#coalesce) {
      this.#inFlight += 1;
      try {
        return await this.#one(parameters);
      } finally {
        this.#done();
      }
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ parameters, resolve, reject });
      this.#sendSoon.schedule();
    });
  }

  /** Fills the free slots with what waits, shared evenly: one token alone, several as one call. */
  #sendWaiting(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#waiting.length > 0) {
      const size = Math.min(MAX_BATCH, Math.ceil(this.#waiting.length / (MAX_IN_FLIGHT - this.#inFlight)));
      const batch = this.#waiting.splice(0, size);
      this.#inFlight += 1;
      const [only] = batch;
      const sent =
        batch.length === 1 && only !== undefined
          ? this.#one(only.parameters).then(only.resolve, only.reject)
          : this.#send(batch);
      void sent.finally(() => this.#done());
    }
  }

  /** One token's row, by the one-token statement. */
  async #one(parameters: readonly [Buffer, Date, Date]): Promise<ValidateRow | undefined> {
    const rows = await this.#runtime.runPrepared({ sql: this.#statements.validate.sql, parameters });
    return this.#statements.validateRows(rows)[0];
  }

  /**
   * Resolves once every validation already made has its answer: `cb.close()` awaits it before the
   * pool closes, so calls made before `close()` are answered, not refused.
   */
  close(): Promise<void> {
    if (this.#inFlight === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** A statement came back: send what waits (after the callers it resumed have joined). */
  #done(): void {
    this.#inFlight -= 1;
    if (this.#waiting.length > 0) this.#sendSoon.schedule();
    else if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #send(batch: readonly Waiting[]): Promise<void> {
    const statements = this.#statements;
    try {
      const hashes: Buffer[] = [];
      const nows: Date[] = [];
      const cutoffs: Date[] = [];
      for (const { parameters } of batch) {
        hashes.push(parameters[0]);
        nows.push(parameters[1]);
        cutoffs.push(parameters[2]);
      }
      const rows = await this.#runtime.runPrepared({
        sql: statements.validateMany.sql,
        parameters: [hashes, nows, cutoffs],
      });
      const found = statements.validateManyRows(rows, batch.length);
      for (const [i, waiting] of batch.entries()) waiting.resolve(found[i]);
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof DriverErrorSummary && cause.code === '42883') {
        // No such function (0051 not applied): answer each caller with its own statement.
        if (this.#coalesce) {
          this.#coalesce = false;
          this.#runtime.config.logger.warn(
            { code: cause.code },
            'carebase: session_validate_json_many() is missing (run migrate()); validations are not coalesced',
          );
        }
        await Promise.all(
          batch.map((waiting) => this.#one(waiting.parameters).then(waiting.resolve, waiting.reject)),
        );
        return;
      }
      for (const waiting of batch) waiting.reject(error);
    }
  }
}

/** The instance's one {@link ValidateBatcher}. */
export const VALIDATE_BATCHER = new RuntimeState<ValidateBatcher>(
  'sessions validate batcher',
  (runtime) => new ValidateBatcher(runtime),
);
