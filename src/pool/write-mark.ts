/**
 * Statements that may write: data changes, a commit, COPY, sequences, or a call of a
 * schema-qualified function (carebase's SECURITY DEFINER helpers write). Reads that match (a
 * `select ... for update`) only cost a needless position check.
 */
const MAY_WRITE =
  /\b(commit|insert|update|delete|merge|copy|truncate|call|nextval|setval|refresh)\b|[\w"]\s*\.\s*"?[a-z_][\w$]*"?\s*\(/i;
const CACHE_LIMIT = 4096;

/**
 * What an instance has written, for read-your-writes on replicas: every statement its primary
 * connections finish is classified (cached per SQL text), and the primary's WAL position is asked
 * for lazily, by the first replica read after a write (one short statement for any number of
 * writes), never by the writes themselves.
 */
export class WriteMark {
  readonly #classified = new Map<string, boolean>();
  /** Statements that may have written, finished so far. */
  #writes = 0;
  /** `#writes` when `#lsn` was read: the position covers every write counted up to it. */
  #covered = 0;
  #lsn = 0n;
  #probing: { readonly writes: number; readonly done: Promise<bigint> } | undefined;

  /** Called when a statement finished (or failed) on a primary connection. */
  finished(sql: string): void {
    let write = this.#classified.get(sql);
    if (write === undefined) {
      write = MAY_WRITE.test(sql);
      if (this.#classified.size < CACHE_LIMIT) this.#classified.set(sql, write);
    }
    if (write) this.#writes++;
  }

  /**
   * Never counts `sql` as a write: background bookkeeping no caller waits to read (the audit
   * sealer's pass), which would otherwise make every replica read wait for it.
   */
  ignore(sql: string): void {
    this.#classified.set(sql, false);
  }

  /** The last position read (0 before any write). */
  get lsn(): bigint {
    return this.#lsn;
  }

  /**
   * The primary position a replica must have replayed for every write finished so far: the known
   * one when nothing was written since, else a fresh one from `probe` (shared by concurrent
   * callers). Rejects with `probe`'s error.
   */
  required(probe: () => Promise<bigint>): Promise<bigint> {
    const writes = this.#writes;
    if (writes === this.#covered) return Promise.resolve(this.#lsn);
    if (this.#probing !== undefined && this.#probing.writes === writes) return this.#probing.done;
    const done = probe().then((lsn) => {
      if (writes > this.#covered) this.#covered = writes;
      if (lsn > this.#lsn) this.#lsn = lsn;
      return this.#lsn;
    });
    const probing = { writes, done };
    this.#probing = probing;
    const clear = (): void => {
      if (this.#probing === probing) this.#probing = undefined;
    };
    done.then(clear, clear);
    return done;
  }
}
