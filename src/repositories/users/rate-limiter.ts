import { isIPv4 } from 'node:net';
import { sql } from 'kysely';
import type { RepositoryContext } from '../context.js';

/**
 * A call refused by a rate limit (`users.rateLimit`): nothing was checked; try again after
 * `retryAfterMs` (e.g. as an HTTP `Retry-After` header).
 *
 * @example
 * ```ts
 * import type { RateLimitedResult } from 'carebase';
 * function retryAfter(result: RateLimitedResult): string {
 *   return String(Math.ceil(result.retryAfterMs / 1000));
 * }
 * ```
 */
export interface RateLimitedResult {
  readonly ok: false;
  readonly reason: 'rate_limited';
  readonly retryAfterMs: number;
}

/** What a limit counts: failed credentials of any kind, or password-reset requests. */
export type RateLimitScope = 'failure' | 'reset_request';

const BUCKET_MS = 60_000;

/**
 * The client address a limit counts, or `undefined` when the call gave none (then only the
 * per-account lockout applies). An IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function sourceOf(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped?.[1] ?? ip;
}

/**
 * Per-network rate limits kept in PostgreSQL (`auth_rate_limits`), so every process of the host
 * shares them: hits are counted in minute buckets per (scope, network) and summed over the
 * sliding window `users.rateLimit.windowMs`. A check and the count that follows it are two
 * statements: concurrent callers may overshoot a limit by their number, never more.
 */
export class RateLimiter {
  readonly #ctx: RepositoryContext;

  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /** `rate_limited` with the time until the window drops below the limit, or `undefined`. */
  async check(scope: RateLimitScope, source: string | undefined): Promise<RateLimitedResult | undefined> {
    if (source === undefined) return undefined;
    const { windowMs } = this.#ctx.config.users.rateLimit;
    const max = this.#max(scope);
    const now = this.#ctx.now();
    const rows = await this.#ctx.db
      .selectFrom('auth_rate_limits')
      .select(['bucket_start', 'hits'])
      .where('scope', '=', scope)
      .where('source', '=', this.#network(source))
      .where('bucket_start', '>', new Date(now.getTime() - windowMs))
      .orderBy('bucket_start')
      .execute();
    let total = rows.reduce((sum, row) => sum + row.hits, 0);
    if (total < max) return undefined;
    // The window slides by the minute: find the bucket whose expiry brings the total under the limit.
    for (const row of rows) {
      total -= row.hits;
      if (total < max) {
        const retryAfterMs = Math.max(1, row.bucket_start.getTime() + windowMs - now.getTime());
        return { ok: false, reason: 'rate_limited', retryAfterMs };
      }
    }
    return { ok: false, reason: 'rate_limited', retryAfterMs: windowMs };
  }

  /**
   * Counts one hit for `source` on `ctx` (the caller's transaction, so it commits with the audit
   * entry), and prunes buckets that left every window.
   */
  async count(ctx: RepositoryContext, scope: RateLimitScope, source: string | undefined): Promise<void> {
    if (source === undefined) return;
    const now = ctx.now();
    const bucket = new Date(Math.floor(now.getTime() / BUCKET_MS) * BUCKET_MS);
    await ctx.db
      .insertInto('auth_rate_limits')
      .values({ scope, source: this.#network(source), bucket_start: bucket, hits: 1 })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'source', 'bucket_start'])
          .doUpdateSet({ hits: sql<number>`auth_rate_limits.hits + 1` }),
      )
      .execute();
    await ctx.db
      .deleteFrom('auth_rate_limits')
      .where('bucket_start', '<', new Date(now.getTime() - ctx.config.users.rateLimit.windowMs - BUCKET_MS))
      .execute();
  }

  #max(scope: RateLimitScope): number {
    const limits = this.#ctx.config.users.rateLimit;
    return scope === 'failure' ? limits.maxFailures : limits.maxResetRequests;
  }

  /** The network `source` counts in, as CIDR text PostgreSQL computes (`network(set_masklen(...))`). */
  #network(source: string): ReturnType<typeof sql<string>> {
    const limits = this.#ctx.config.users.rateLimit;
    const prefix = isIPv4(source) ? limits.ipv4Prefix : limits.ipv6Prefix;
    return sql<string>`network(set_masklen(${source}::inet, ${prefix}))`;
  }
}
