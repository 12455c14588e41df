import type { CarebaseError } from '../errors/errors.js';
import { isLockNotAvailable, toCarebaseError } from '../errors/map-error.js';
import { quoteIdentifier } from '../sql/identifier.js';
import type { SqlConnection } from './connection.js';
import { sleep } from './lock.js';
import { type NamedRelation, parseSql, relationsOf } from './sql-parser.js';

/** How migration statements wait for table locks (PostgreSQL `lock_timeout`) and retry. */
export interface LockPolicy {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly attempts: number;
  readonly retryDelayMs: number;
  readonly signal: AbortSignal | undefined;
}

/** The defaults of `tableLockTimeoutMs`, `tableLockAttempts`, `tableLockRetryDelayMs`, `statementTimeoutMs`. */
export const LOCK_POLICY_DEFAULTS = Object.freeze({
  lockTimeoutMs: 5_000,
  attempts: 3,
  retryDelayMs: 1_000,
  statementTimeoutMs: 0,
});

/** Every attempt of a migration (or statement) timed out waiting for a lock. */
export class LockWaitExhausted extends Error {
  constructor(
    readonly lastError: CarebaseError,
    readonly attempts: number,
  ) {
    super('lock wait exhausted');
    this.name = 'LockWaitExhausted';
  }
}

/**
 * Runs `attempt` until it succeeds, or fails with something other than a lock timeout, or has
 * been tried `policy.attempts` times; waits `retryDelayMs` (doubled each time, +-25% jitter)
 * between tries. Throws {@link LockWaitExhausted} when every try timed out.
 */
export async function withLockRetries<T>(policy: LockPolicy, attempt: () => Promise<T>): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isLockNotAvailable(error)) throw error;
      if (tried >= policy.attempts) throw new LockWaitExhausted(toCarebaseError(error), tried);
      const base = policy.retryDelayMs * 2 ** (tried - 1);
      await sleep(Math.round(base * (0.75 + Math.random() * 0.5)), policy.signal);
    }
  }
}

/** `CREATE/DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY`, `DETACH PARTITION ... CONCURRENTLY`. */
const CONCURRENT =
  /^(?:\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(?:create\s+(?:unique\s+)?index\s+concurrently|drop\s+index\s+concurrently|reindex\b[^;]*\bconcurrently|alter\s+table\b[^;]*\bdetach\s+partition\b[^;]*\bconcurrently)\b/i;

/**
 * The `lock_timeout` for one statement: none for `CONCURRENTLY` statements (their waits hold a
 * lock that blocks neither reads nor writes, and a timeout there can leave an invalid index).
 */
export function lockTimeoutFor(statement: string, policy: LockPolicy): number {
  return CONCURRENT.test(statement) ? 0 : policy.lockTimeoutMs;
}

/** A session holding a lock on a table a migration needed. */
export interface LockBlocker {
  readonly pid: number;
  readonly applicationName: string;
  /** `pg_stat_activity.state`, e.g. `idle in transaction`. */
  readonly state: string;
  /** Seconds since the blocker's transaction started. */
  readonly transactionSeconds: number | undefined;
  /** The table, as the database names it. */
  readonly table: string;
}

/**
 * Finds the sessions that hold locks on the tables `sql` names (PostgreSQL's parser reads it);
 * when it names none that exist (a code migration), the sessions of this database holding table
 * locks in the oldest open transactions. Unqualified names resolve in `schema` when given, else
 * through the session's `search_path`. Never reads the blockers' query text.
 */
export async function findLockBlockers(
  connection: SqlConnection,
  sql: string,
  schema: string | undefined,
): Promise<LockBlocker[]> {
  let relations: NamedRelation[] = [];
  try {
    relations = (await parseSql(sql, 'migration')).flatMap(relationsOf);
  } catch {
    // Unparsable (or a code migration's placeholder): fall back to the oldest lock holders.
  }
  const names = relations.map((relation) =>
    relation.schema === undefined && schema === undefined
      ? quoteIdentifier(relation.name)
      : `${quoteIdentifier(relation.schema ?? schema ?? '')}.${quoteIdentifier(relation.name)}`,
  );
  const { rows } = await connection.query<{
    pid: number;
    application_name: string | null;
    state: string | null;
    seconds: number | null;
    tbl: string;
  }>(
    `with wanted as (
       select to_regclass(name) as oid from unnest($1::text[]) as name
     )
     select distinct on (l.pid) l.pid, a.application_name, a.state,
            extract(epoch from now() - a.xact_start)::int as seconds, l.relation::regclass::text as tbl
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.granted and l.locktype = 'relation' and l.pid <> pg_backend_pid()
        and l.database = (select oid from pg_database where datname = current_database())
        and (l.relation in (select oid from wanted where oid is not null)
             or (not exists (select 1 from wanted where oid is not null) and a.xact_start is not null))
      order by l.pid, a.xact_start`,
    [names],
  );
  return rows
    .map((row) => ({
      pid: row.pid,
      applicationName: row.application_name ?? '',
      state: row.state ?? 'unknown',
      transactionSeconds: row.seconds ?? undefined,
      table: row.tbl,
    }))
    .sort((a, b) => (b.transactionSeconds ?? 0) - (a.transactionSeconds ?? 0))
    .slice(0, 5);
}

/** `pid 123 (application_name 'psql', idle in transaction for 42 s, holding a lock on app.notes)`. */
export function describeBlockers(blockers: readonly LockBlocker[]): string {
  if (blockers.length === 0) return 'no blocking session was still found afterwards';
  return `blocked by ${blockers
    .map(
      (blocker) =>
        `pid ${blocker.pid} (application_name '${blocker.applicationName}', ${blocker.state}${
          blocker.transactionSeconds === undefined ? '' : ` for ${blocker.transactionSeconds} s`
        }, holding a lock on ${blocker.table})`,
    )
    .join(', ')}`;
}

/** The lock policy of a run's options, with the defaults applied. */
export function lockPolicyFrom(options: {
  readonly tableLockTimeoutMs?: number | undefined;
  readonly tableLockAttempts?: number | undefined;
  readonly tableLockRetryDelayMs?: number | undefined;
  readonly statementTimeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}): LockPolicy {
  return {
    lockTimeoutMs: options.tableLockTimeoutMs ?? LOCK_POLICY_DEFAULTS.lockTimeoutMs,
    attempts: options.tableLockAttempts ?? LOCK_POLICY_DEFAULTS.attempts,
    retryDelayMs: options.tableLockRetryDelayMs ?? LOCK_POLICY_DEFAULTS.retryDelayMs,
    statementTimeoutMs: options.statementTimeoutMs ?? LOCK_POLICY_DEFAULTS.statementTimeoutMs,
    signal: options.signal,
  };
}
