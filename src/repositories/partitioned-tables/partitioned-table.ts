import { sql } from 'kysely';
import { NotFoundError } from '../../errors/errors.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordAudit } from '../audit/record.js';
import { type RepositoryContext, RuntimeState } from '../context.js';
import { type KnownMonths, monthsFrom, rememberMonths } from '../partition-months.js';
import {
  type EnsurePartitionsOptions,
  EnsurePartitionsOptionsSchema,
  type PartitionRetentionResult,
} from './partitioned-table-options.js';

/** Months known to have committed partitions, per carebase instance and table. */
const KNOWN = new RuntimeState<Map<string, KnownMonths>>('host table partition months', () => new Map());

/** A resolved {@link PartitionedTableOptions}. */
export interface PartitionedTableSpec {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly retentionMonths: number | undefined;
  readonly ahead: number;
}

/**
 * Monthly partitions and retention of one host table, through the owner's SECURITY DEFINER
 * functions (migration 0028): the app role needs no DDL, and acts only on tables the owner
 * registered, with the registered retention. Get one from `cb.partitionedTable()`.
 *
 * @example
 * ```ts
 * const apiLogs = cb.partitionedTable({
 *   schema: 'hedis', table: 'api_logs', column: 'created_at', interval: 'month', retentionMonths: 84, ahead: 3,
 * });
 * await apiLogs.ensurePartitions(); // at start-up and daily, as the app role
 * await apiLogs.applyRetention(); // nightly: drops months older than 7 years
 * ```
 */
export class PartitionedTable {
  readonly #ctx: RepositoryContext;
  readonly #spec: PartitionedTableSpec;

  /** @internal Use `cb.partitionedTable()`. */
  constructor(ctx: RepositoryContext, spec: PartitionedTableSpec) {
    this.#ctx = ctx;
    this.#spec = spec;
  }

  /** The schema-qualified table name (unquoted), e.g. `hedis.api_logs`. */
  get name(): string {
    return `${this.#spec.schema}.${this.#spec.table}`;
  }

  /**
   * Registers the table (or updates its retention and `ahead`) so that `ensurePartitions` and
   * `applyRetention` may act on it. Must run as the owner (the role that ran `migrate()`; a host
   * migration may call `partitioned_table_register()` in SQL instead); the table must be
   * `PARTITION BY RANGE` on exactly `column` and owned by that role.
   *
   * Throws `NotFoundError` when the table does not exist, a `QueryError` (SQLSTATE 42809) when it
   * is not range-partitioned on exactly `column`, and a permission error (42501) as the app role
   * or for a table the owner does not own. Idempotent.
   *
   * @example
   * <!-- snippet-preamble: declare const owner: import('carebase').Carebase; -->
   * ```ts
   * // Once, in a deploy step connected as the owner:
   * await owner.partitionedTable({ table: 'api_logs', column: 'created_at', interval: 'month', retentionMonths: 84 }).register();
   * ```
   */
  async register(): Promise<void> {
    const s = this.#spec;
    const { rows } = await sql<{ found: boolean }>`
      select to_regclass(format('%I.%I', ${s.schema}::text, ${s.table}::text)) is not null as found`.execute(
      this.#ctx.db,
    );
    if (rows[0]?.found !== true) throw new NotFoundError('table');
    const fn = sql.id(this.#ctx.config.schema, 'partitioned_table_register');
    await sql`select ${fn}(${s.schema}, ${s.table}, ${s.column}, ${s.retentionMonths ?? null}::integer, ${s.ahead}::integer)`.execute(
      this.#ctx.db,
    );
  }

  /**
   * Creates the monthly partitions (`<table>_pYYYYMM`, UTC months) from `from`'s month through
   * `ahead` months after it, if missing; returns how many were new. Months already known to this
   * instance cost no query; a check that finds every partition takes no lock.
   *
   * Throws `ValidationError` for bad options and `NotFoundError` when the table is not
   * registered. Safe to call concurrently (creations are serialized per table).
   *
   * @example
   * ```ts
   * const apiLogs = cb.partitionedTable({ table: 'api_logs', column: 'created_at', interval: 'month' });
   * const { created } = await apiLogs.ensurePartitions({ ahead: 3 });
   * ```
   */
  async ensurePartitions(options: EnsurePartitionsOptions = {}): Promise<{ created: number }> {
    const parsed = parseInput(EnsurePartitionsOptionsSchema, options, 'ensurePartitions options');
    const from = parsed.from ?? this.#ctx.now();
    const ahead = parsed.ahead ?? this.#spec.ahead;
    const known = this.#known();
    const keys = monthsFrom(from, ahead);
    if (keys.every((key) => known.has(key))) return { created: 0 };
    await this.#requireRegistration();
    const fn = sql.id(this.#ctx.config.schema, 'partitioned_table_ensure');
    const { rows } = await sql<{ created: number }>`
      select ${fn}(${this.#spec.schema}, ${this.#spec.table}, ${from}::timestamptz, ${ahead}::integer) as created`.execute(
      this.#ctx.db,
    );
    const created = rows[0]?.created ?? 0;
    rememberMonths(this.#ctx, known, keys, created);
    return { created };
  }

  /**
   * Drops the monthly partitions that ended at or before the first day of the month
   * `retentionMonths` (as registered) before the current UTC month of the database server's
   * clock, and records `partitioned_table.retention` in the audit log in the same transaction.
   * Returns the dropped partitions; none when the registration keeps everything.
   *
   * Throws `NotFoundError` when the table is not registered. Safe to re-run.
   *
   * @example
   * ```ts
   * const apiLogs = cb.partitionedTable({ table: 'api_logs', column: 'created_at', interval: 'month' });
   * const { droppedPartitions } = await apiLogs.applyRetention();
   * ```
   */
  async applyRetention(): Promise<PartitionRetentionResult> {
    const fn = sql.id(this.#ctx.config.schema, 'partitioned_table_apply_retention');
    await this.#requireRegistration();
    const result = await this.#ctx.atomic(async (tx) => {
      const { rows } = await sql<{ name: string }>`
        select name from ${fn}(${this.#spec.schema}, ${this.#spec.table}) as name`.execute(tx.db);
      const dropped = rows.map((row) => row.name);
      if (dropped.length > 0) {
        await recordAudit(tx, {
          action: 'partitioned_table.retention',
          resourceType: 'table',
          resourceId: this.name,
          metadata: { droppedPartitions: dropped },
        });
      }
      return { droppedPartitions: dropped };
    });
    if (result.droppedPartitions.length > 0) this.#known().clear();
    return result;
  }

  /** Throws `NotFoundError('partitioned table registration')` unless the owner registered the table. */
  async #requireRegistration(): Promise<void> {
    const found = await this.#ctx.db
      .selectFrom('partitioned_tables')
      .select('table_name')
      .where('table_schema', '=', this.#spec.schema)
      .where('table_name', '=', this.#spec.table)
      .executeTakeFirst();
    if (found === undefined) throw new NotFoundError('partitioned table registration');
  }

  #known(): KnownMonths {
    const all = this.#ctx.runtime.state(KNOWN);
    let known = all.get(this.name);
    if (known === undefined) {
      known = new Set();
      all.set(this.name, known);
    }
    return known;
  }
}
