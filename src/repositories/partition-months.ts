import type { RepositoryContext } from './context.js';

/** Months (UTC, `YYYY-M` keys from {@link monthKey}) known to have committed partitions. */
export type KnownMonths = Set<string>;

/** The cache key of `at`'s month (UTC). */
export function monthKey(at: Date): string {
  return `${at.getUTCFullYear()}-${at.getUTCMonth()}`;
}

/** The keys of `at`'s month and the `monthsAhead` months after it. */
export function monthsFrom(at: Date, monthsAhead: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i <= monthsAhead; i++) {
    keys.push(monthKey(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + i, 1))));
  }
  return keys;
}

/**
 * Caches `keys` when they are known to be committed: created or found outside a transaction, or
 * found (not created) inside one that has not created partitions itself. A transaction that
 * created some is marked, so a partition it created and may still roll back is never trusted.
 */
export function rememberMonths(
  ctx: RepositoryContext,
  months: KnownMonths,
  keys: readonly string[],
  created: number,
): void {
  if (ctx.inTransaction) {
    if (created > 0) creatingTransactions.add(ctx.db);
    if (created > 0 || creatingTransactions.has(ctx.db)) return;
  }
  for (const key of keys) months.add(key);
}

/** Transactions (their executors) that created partitions: nothing they see is cached. */
const creatingTransactions = new WeakSet<object>();
