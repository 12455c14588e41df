import { CompiledQuery } from 'kysely';
import type { CarebaseRuntime, RepositoryContext } from '../context.js';

/** Months (UTC `YYYY-MM`) known to have committed partitions, per carebase instance. */
const knownMonths = new WeakMap<CarebaseRuntime, Set<string>>();

function monthKey(at: Date): string {
  return `${at.getUTCFullYear()}-${at.getUTCMonth()}`;
}

/**
 * Makes sure the monthly partitions of `audit_log` and `audit_chain` covering `at` (and
 * `monthsAhead` months after it) exist, creating them on demand. Cached per instance once the
 * creation is known to be committed (outside a transaction); inside a transaction the (cheap,
 * idempotent) check runs again until then, so a rolled-back creation is never trusted.
 */
export async function ensureAuditPartition(
  ctx: RepositoryContext,
  at: Date,
  options: { readonly monthsAhead?: number; readonly force?: boolean } = {},
): Promise<number> {
  let months = knownMonths.get(ctx.runtime);
  if (months === undefined) {
    months = new Set();
    knownMonths.set(ctx.runtime, months);
  }
  const key = monthKey(at);
  if (months.has(key) && options.force !== true) return 0;
  // A first write into the current month also keeps the next months created ahead.
  const current = monthKey(ctx.now()) === key;
  const monthsAhead = options.monthsAhead ?? (current ? ctx.config.audit.partitionsAhead : 0);
  const schema = `"${ctx.config.schema.replaceAll('"', '""')}"`;
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

/** Forgets the cached months of `runtime` (after retention dropped partitions). */
export function forgetAuditPartitions(runtime: CarebaseRuntime): void {
  knownMonths.delete(runtime);
}
