import { CompiledQuery } from 'kysely';
import { quoteIdentifier } from '../../sql/identifier.js';
import { type CarebaseRuntime, type RepositoryContext, RuntimeState } from '../context.js';
import { type KnownMonths, monthKey, monthsFrom, rememberMonths } from '../partition-months.js';

/** Months (UTC) known to have committed audit partitions, per carebase instance. */
const KNOWN_MONTHS = new RuntimeState<KnownMonths>('audit partition months', () => new Set<string>());

/**
 * Makes sure the monthly partitions of `audit_log` and `audit_chain` covering `at` (and
 * `monthsAhead` months after it) exist, creating them on demand through the owner's
 * `audit_ensure_partitions()` (SECURITY DEFINER: the app role needs no DDL), on the caller's own
 * connection (inside the caller's transaction when there is one: never a second connection).
 * The function looks the partitions up without a lock first, so a present month costs one round
 * trip and holds nothing. A month is cached per instance once its partitions are known to be
 * committed; see `rememberMonths`.
 */
export async function ensureAuditPartition(
  ctx: RepositoryContext,
  at: Date,
  options: { readonly monthsAhead?: number; readonly force?: boolean } = {},
): Promise<number> {
  const months = ctx.runtime.state(KNOWN_MONTHS);
  if (months.has(monthKey(at)) && options.force !== true) return 0;
  // A first write into the current month also keeps the next months created ahead.
  const current = monthKey(ctx.now()) === monthKey(at);
  const monthsAhead = options.monthsAhead ?? (current ? ctx.config.audit.partitionsAhead : 0);
  const schema = quoteIdentifier(ctx.config.schema);
  const result = await ctx.db.executeQuery<{ created: number }>(
    CompiledQuery.raw(`select ${schema}.audit_ensure_partitions($1::timestamptz, $2::int) as created`, [
      at,
      monthsAhead,
    ]),
  );
  const created = result.rows[0]?.created ?? 0;
  rememberMonths(ctx, months, monthsFrom(at, monthsAhead), created);
  return created;
}

/** Forgets the cached months of `runtime` (after retention dropped partitions). */
export function forgetAuditPartitions(runtime: CarebaseRuntime): void {
  runtime.state(KNOWN_MONTHS).clear();
}
