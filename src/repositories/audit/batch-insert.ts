import { refusedByServer } from '../../errors/map-error.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import { AfterMicrotasks } from '../after-microtasks.js';
import { type CarebaseRuntime, RuntimeState } from '../context.js';
import { auditSealerOf } from './sealer.js';

/**
 * Group statements one instance keeps in flight. Sealing groups (`sealAfterWrite`): one, the
 * entries logged while it runs form the next group (two measured slower: sealing groups take
 * turns on the sealing lock through their commits anyway, so two half-size groups pay two WAL
 * flushes in series). Insert-only groups take no lock, so two commit at once and share WAL
 * flushes, as concurrent raw INSERTs do. Two, not four: at 8 callers on a quiet 2-core machine
 * four groups in flight split the callers into groups of two, and Node spent 130-160 µs of CPU
 * per entry against 112 µs with two in flight (0.57-0.67x of a raw INSERT vs 0.69-0.75x); at 32
 * callers two measured 1.22x of raw vs 1.07x, at 2 callers the same (scratch runs, 2026-12-07).
 * Since groups wait for the callers a commit resumes (`#pumpSoon`), one, two and three in
 * flight measured the same at 8 callers (0.84-0.98x of raw, scratch runs, same day).
 */
const MAX_IN_FLIGHT = { sealing: 1, inserting: 2 } as const;
/**
 * How long after a group committed its background seal pass starts (`sealAfterWrite: false`):
 * groups committing meanwhile share the pass, so passes run at most this often while entries
 * arrive. It bounds how long a committed entry waits for its link.
 */
const GROUP_SEAL_DELAY_MS = 50;
/** Entries per INSERT at most. */
const MAX_BATCH = 256;

/**
 * The 21 insert parameters of one entry, in the order of `AUDIT_INSERT_COLUMNS`: occurred_at,
 * actor_user_id, actor_type, action, resource_type, resource_id, subject_id, outcome,
 * outcome_detail, ip, user_agent, request_id, changes (JSON text), metadata (JSON text), severity,
 * purpose_of_use, legal_basis, recipient, description, break_glass, break_glass_reason.
 */
export type AuditInsertValues = readonly unknown[];

/** The columns every audit entry has had since 0004 (imports write these; the rest take their defaults). */
export const AUDIT_BASE_INSERT_COLUMNS =
  'occurred_at, actor_user_id, actor_type, action, resource_type, resource_id, subject_id, outcome, outcome_detail, ip, user_agent, request_id, changes, metadata';

/** The columns every audit insert writes, in parameter order. */
export const AUDIT_INSERT_COLUMNS = `${AUDIT_BASE_INSERT_COLUMNS}, severity, purpose_of_use, legal_basis, recipient, description, break_glass, break_glass_reason`;

/** The single-entry INSERT (a generic plan from the sixth call on), prepared once per instance. */
export function singleInsertSql(runtime: CarebaseRuntime): string {
  return runtime.prepared.get(
    'audit.insert',
    () =>
      `insert into ${quoteIdentifier(runtime.config.schema)}.audit_log (${AUDIT_INSERT_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16, $17, $18, $19, $20, $21) returning id`,
  ).sql;
}

/** The element type of each column's array parameter, in `AUDIT_INSERT_COLUMNS` order. */
const ARRAY_TYPES = [
  'timestamptz',
  'uuid',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'inet',
  'text',
  'text',
  'jsonb',
  'jsonb',
  'text',
  'text',
  'text',
  'text',
  'text',
  'boolean',
  'text',
] as const;

/** The element types of `AUDIT_BASE_INSERT_COLUMNS`' array parameters. */
export const AUDIT_BASE_ARRAY_TYPES: readonly string[] = ARRAY_TYPES.slice(0, 14);

interface Pending {
  readonly values: AuditInsertValues;
  /** Resolve only once a sealing pass covers the entry (else seal in the background). */
  readonly sealed: boolean;
  /** Resolves with the entry's id (a bigint as a decimal string). */
  readonly resolve: (id: string) => void;
  readonly reject: (error: unknown) => void;
}

/** Ids in ascending order: within one statement they were drawn in the rows' (ORDER BY ord) order. */
function ascending(ids: readonly string[]): string[] {
  return [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

/**
 * Group insert of the audit entries logged outside a transaction (`cb.audit.log()`, repositories'
 * writes on the root executor). Entries logged while inserts are in flight are written together
 * by the next one, so N concurrent writers share one statement, one transaction and one WAL flush.
 *
 * With `audit.sealAfterWrite: true` (off by default) that one statement also seals: it inserts the group
 * and then calls `audit_seal()` in the same transaction, which links the group (and any other
 * committed, unsealed entries) into the chain under the sealing lock, and commits entries and
 * links together, durably. So `log()` resolves after one round trip with its entry committed and
 * sealed; there is no window between commit and seal for these entries. Groups serialize on the
 * sealing lock from their seal to their commit, which is why groups, not entries, take turns.
 * Without `sealAfterWrite` the group is only inserted and a background pass seals it.
 *
 * Failures: when the server refused or cancelled the statement (nothing was written), each entry
 * of the group is retried alone without sealing, then sealed by an ordinary pass (so a bad entry
 * fails only its own `log()`, and a seal that cannot finish within the statement timeout, e.g.
 * after a bulk load left millions of entries unsealed, still lets entries be written, as before).
 * After a connection-level error the outcome is unknown and every entry of the group fails.
 */
export class AuditBatchInsert {
  readonly #runtime: CarebaseRuntime;
  readonly #insertSql: string;
  readonly #insertOneSql: string;
  readonly #insertAndSealSql: string;
  readonly #maxInFlight: number;
  #queue: Pending[] = [];
  #inFlight = 0;
  /** Sends the next groups once the callers a commit resumed have logged again (see AfterMicrotasks). */
  readonly #pumpSoon = new AfterMicrotasks(() => this.#pump());

  constructor(runtime: CarebaseRuntime) {
    this.#runtime = runtime;
    this.#maxInFlight = runtime.config.audit.sealAfterWrite ? MAX_IN_FLIGHT.sealing : MAX_IN_FLIGHT.inserting;
    const schema = quoteIdentifier(runtime.config.schema);
    const arrays = ARRAY_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
    const names = ARRAY_TYPES.map((_, i) => `c${i + 1}`).join(', ');
    // Rows in parameter order (ORDER BY ord), so their identity ids are drawn in that order: the
    // i-th smallest id returned belongs to the i-th entry.
    const insertSql = `insert into ${schema}.audit_log (${AUDIT_INSERT_COLUMNS}) select ${names} from unnest(${arrays}) with ordinality as t(${names}, ord) order by ord returning id`;
    this.#insertSql = runtime.prepared.get('audit.group-insert', () => insertSql).sql;
    this.#insertOneSql = singleInsertSql(runtime);
    // audit_seal() is volatile: each of its queries takes a fresh snapshot after the statement's
    // own insert (which the aggregate runs to completion first), so it sees and seals the group.
    this.#insertAndSealSql = runtime.prepared.get(
      'audit.group-insert-and-seal',
      () =>
        `with inserted as (${insertSql}) select ${schema}.audit_seal() as sealed, done.ids from (select array_agg(id) as ids from inserted) as done`,
    ).sql;
  }

  /**
   * Inserts one entry, grouped with the entries logged concurrently. Resolves once it is committed
   * and, with `sealed`, sealed into its month's chain; without, a background pass follows at once.
   */
  insert(values: AuditInsertValues, sealed: boolean): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#queue.push({ values, sealed, resolve, reject });
      this.#pumpSoon.schedule();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const group = this.#queue.splice(0, MAX_BATCH);
      this.#inFlight++;
      this.#write(group).finally(() => {
        this.#inFlight--;
        this.#pumpSoon.schedule();
      });
    }
  }

  #write(group: Pending[]): Promise<unknown> {
    // An instance's entries share its `audit.sealAfterWrite`, so a group is one statement; a mixed
    // group would be split in two.
    const sealed = group.filter((entry) => entry.sealed);
    if (sealed.length === group.length) return this.#insertAndSeal(group);
    if (sealed.length === 0) return this.#insertOnly(group);
    return Promise.all([
      this.#insertAndSeal(sealed),
      this.#insertOnly(group.filter((entry) => !entry.sealed)),
    ]);
  }

  async #insertAndSeal(group: readonly Pending[]): Promise<void> {
    try {
      const ids = await this.#run(this.#insertAndSealSql, group);
      group.forEach((entry, i) => {
        entry.resolve(ids[i] ?? '');
      });
      return;
    } catch (error) {
      if (!refusedByServer(error)) {
        for (const entry of group) entry.reject(error);
        return;
      }
    }
    const written: { entry: Pending; id: string }[] = [];
    for (const entry of group) {
      await this.#run(this.#insertSql, [entry]).then(
        (ids) => written.push({ entry, id: ids[0] ?? '' }),
        entry.reject,
      );
    }
    if (written.length === 0) return;
    await auditSealerOf(this.#runtime)
      .seal()
      .then(
        () => {
          for (const { entry, id } of written) entry.resolve(id);
        },
        (error: unknown) => {
          for (const { entry } of written) entry.reject(error);
        },
      );
  }

  async #insertOnly(group: readonly Pending[]): Promise<void> {
    let error: unknown;
    let ids: string[] = [];
    try {
      ids = await this.#run(this.#insertSql, group);
    } catch (caught) {
      error = caught;
    }
    if (error === undefined) {
      group.forEach((entry, i) => {
        entry.resolve(ids[i] ?? '');
      });
    } else if (group.length === 1 || !refusedByServer(error)) {
      for (const entry of group) entry.reject(error);
    } else {
      for (const entry of group) {
        await this.#run(this.#insertSql, [entry]).then((one) => entry.resolve(one[0] ?? ''), entry.reject);
      }
    }
    // The group is committed: one debounced pass (shared with the groups that follow) seals it.
    auditSealerOf(this.#runtime).schedule(GROUP_SEAL_DELAY_MS, false);
  }

  /** Runs `sql` for `group` and returns the new entries' ids in the group's order. */
  async #run(sql: string, group: readonly Pending[]): Promise<string[]> {
    const [only] = group;
    if (group.length === 1 && only !== undefined && sql === this.#insertSql) {
      // A group of one (a lone writer): the scalar INSERT, planned once, not the unnest one.
      const rows = await this.#runtime.runPrepared<{ id: string }>({
        sql: this.#insertOneSql,
        parameters: only.values,
      });
      return rows.map((row) => String(row.id));
    }
    const columns = ARRAY_TYPES.map((_, i) => group.map((entry) => entry.values[i] ?? null));
    const rows = await this.#runtime.runPrepared<{ id?: string; ids?: string[] }>({
      sql,
      parameters: columns,
    });
    const ids = rows.flatMap((row) => row.ids ?? (row.id === undefined ? [] : [row.id]));
    return ascending(ids.map(String));
  }
}

const BATCH_INSERT = new RuntimeState('audit group insert', (runtime) => new AuditBatchInsert(runtime));

/** The group insert of a carebase instance (one per instance, on its runtime). */
export function auditBatchInsertOf(runtime: CarebaseRuntime): AuditBatchInsert {
  return runtime.state(BATCH_INSERT);
}
