import { CompiledQuery } from 'kysely';
import { quoteIdentifier } from '../../sql/identifier.js';
import { type CarebaseRuntime, type RepositoryContext, RuntimeState } from '../context.js';

/** Months (UTC `YYYY-MM`) known to have committed partitions, per carebase instance. */
const KNOWN_MONTHS = new RuntimeState('audit partition months', () => new Set<string>());

function monthKey(at: Date): string {
  return `${at.getUTCFullYear()}-${at.getUTCMonth()}`;
}

/**
 * Makes sure the monthly partitions of `audit_log` and `audit_chain` covering `at` (and
 * `monthsAhead` months after it) exist, creating them on demand. A month is cached per instance
 * once its partitions are known to be committed: seen by a lock-free lookup on the root executor,
 * or created outside a transaction. A partition created inside the caller's transaction (the rare
 * first write into a new month there) is not cached, so a rolled-back creation is never trusted.
 */
export async function ensureAuditPartition(
  ctx: RepositoryContext,
  at: Date,
  options: { readonly monthsAhead?: number; readonly force?: boolean } = {},
): Promise<number> {
  const months = ctx.runtime.state(KNOWN_MONTHS);
  const key = monthKey(at);
  if (months.has(key) && options.force !== true) return 0;
  if (options.force !== true && (await partitionsExist(ctx, at))) {
    months.add(key);
    return 0;
  }
  // A first write into the current month also keeps the next months created ahead.
  const current = monthKey(ctx.now()) === key;
  const monthsAhead = options.monthsAhead ?? (current ? ctx.config.audit.partitionsAhead : 0);
  const schema = quoteIdentifier(ctx.config.schema);
  const result = await ctx.db.executeQuery<{ created: number }>(
    CompiledQuery.raw(`select ${schema}.audit_ensure_partitions($1::timestamptz, $2::int) as created`, [
      at,
      monthsAhead,
    ]),
  );
  if (!ctx.inTransaction) {
    for (let i = 0; i <= monthsAhead; i++) {
      months.add(monthKey(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + i, 1))));
    }
  }
  return result.rows[0]?.created ?? 0;
}

/**
 * Whether both partitions of `at`'s month exist, asked on the instance's root executor (a fresh,
 * lock-free catalog lookup that only sees committed partitions, so the answer can be cached even
 * when the caller is inside a transaction, and no lock is held until the caller commits).
 */
async function partitionsExist(ctx: RepositoryContext, at: Date): Promise<boolean> {
  const suffix = `${at.getUTCFullYear()}${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
  const result = await ctx.runtime.db.executeQuery<{ present: boolean }>(
    CompiledQuery.raw(
      `select to_regclass(format('%I.%I', $1::text, 'audit_log_p' || $2::text)) is not null
          and to_regclass(format('%I.%I', $1::text, 'audit_chain_p' || $2::text)) is not null as present`,
      [ctx.config.schema, suffix],
    ),
  );
  return result.rows[0]?.present === true;
}

/** Forgets the cached months of `runtime` (after retention dropped partitions). */
export function forgetAuditPartitions(runtime: CarebaseRuntime): void {
  runtime.state(KNOWN_MONTHS).clear();
}
