import { createHash } from 'node:crypto';
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

/**
 * What a limit counts: failed credentials of any kind and password-reset requests (per network),
 * password-reset requests per login, email-verification requests per account.
 */
export type RateLimitScope = 'failure' | 'reset_request' | 'reset_login' | 'verification_request';

/** What a hit is counted against: a client address (its network counts) or an account key. */
export type RateLimitKey = { readonly ip: string } | { readonly subject: string };

/**
 * A hit reserved by {@link RateLimiter.acquire}: `limited` when the limit was reached (nothing was
 * counted), else the hit counts until {@link RateLimitHit.release} gives it back.
 */
export interface RateLimitHit {
  readonly limited: RateLimitedResult | undefined;
  /** Gives the hit back (the work turned out not to be a failure), on `ctx` (the caller's transaction). */
  release(ctx: RepositoryContext): Promise<void>;
}

const BUCKET_MS = 60_000;

const NOTHING: RateLimitHit = { limited: undefined, release: async () => undefined };

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
 * The stored key of an account-level limit: `sha256:` and the hex SHA-256 of `namespace` and
 * `value` (a login is never stored in clear).
 */
export function subjectKey(namespace: string, value: string): string {
  return `sha256:${createHash('sha256').update(`${namespace}\u0000${value}`, 'utf8').digest('hex')}`;
}

/**
 * Rate limits kept in PostgreSQL (`auth_rate_limits`), so every process of the host shares them:
 * hits are counted in minute buckets per (scope, key) and summed over the sliding window
 * `users.rateLimit.windowMs`. A key is a client network (IPv4 /24, IPv6 /64 by default) or an
 * account key.
 *
 * Concurrency: {@link RateLimiter.acquire} checks the window and counts the hit in one call of
 * `auth_rate_limit_take` (migration 0036), which first takes a transaction-scoped advisory lock on
 * (scope, key) and then reads on fresh snapshots, so callers of one key serialize and each reads
 * every hit committed before it: however many run at once, at most
 * the limit's number of hits pass a window (proved by test/users/rate-limit-race.test.ts). The hit
 * is counted before the work it limits (a login's password check) and released when the work is
 * not a failure. Called inside a caller's transaction, the lock is held until that transaction
 * ends.
 */
export class RateLimiter {
  readonly #ctx: RepositoryContext;

  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Reserves one hit of `scope` for `key`, or answers `rate_limited` (with the time until the
   * window drops below the limit) and counts nothing. A call without a key (no `ip`) is not limited.
   * Prunes buckets that left every window.
   */
  async acquire(scope: RateLimitScope, key: RateLimitKey | undefined): Promise<RateLimitHit> {
    if (key === undefined) return NOTHING;
    const { windowMs } = this.#ctx.config.users.rateLimit;
    const max = this.#max(scope);
    const now = this.#ctx.now();
    const bucket = new Date(Math.floor(now.getTime() / BUCKET_MS) * BUCKET_MS);
    const from = new Date(now.getTime() - windowMs);
    // One call: auth_rate_limit_take (migration 0036) locks (scope, key), reads the window and
    // counts the hit when it is under the limit, each statement on a fresh snapshot.
    const fn = sql.id(this.#ctx.config.schema, 'auth_rate_limit_take');
    const result = await sql<{ bucket_start: Date | null; hits: number; taken: boolean; key: string }>`
      select w.bucket_start, w.hits, w.taken, k.key
      from (select ${this.#keySql(key)} as key) k,
        lateral ${fn}(${scope}, k.key, ${bucket}, ${from}, ${new Date(now.getTime() - windowMs - BUCKET_MS)}, ${max}) w`.execute(
      this.#ctx.db,
    );
    const taken = { rows: result.rows, stored: result.rows[0]?.key ?? '' };
    const rows = taken.rows.flatMap((row) =>
      row.bucket_start === null ? [] : [{ bucket_start: row.bucket_start, hits: row.hits }],
    );
    if (taken.rows[0]?.taken === true) {
      return {
        limited: undefined,
        release: (ctx) => this.#release(ctx, scope, taken.stored, bucket),
      };
    }
    return { limited: retryAfter(rows, max, windowMs, now), release: NOTHING.release };
  }

  /** Gives back a hit counted in `bucket` (never below zero). */
  async #release(ctx: RepositoryContext, scope: RateLimitScope, key: string, bucket: Date): Promise<void> {
    await ctx.db
      .updateTable('auth_rate_limits')
      .set({ hits: sql<number>`hits - 1` })
      .where('scope', '=', scope)
      .where('source', '=', key)
      .where('bucket_start', '=', bucket)
      .where('hits', '>', 0)
      .execute();
  }

  #max(scope: RateLimitScope): number {
    const limits = this.#ctx.config.users.rateLimit;
    switch (scope) {
      case 'failure':
        return limits.maxFailures;
      case 'reset_request':
        return limits.maxResetRequests;
      case 'reset_login':
        return limits.maxResetRequestsPerLogin;
      case 'verification_request':
        return limits.maxVerificationRequests;
    }
  }

  /** The stored key: a network as CIDR text PostgreSQL computes, or an account key as given. */
  #keySql(key: RateLimitKey): ReturnType<typeof sql<string>> {
    if ('subject' in key) return sql<string>`${key.subject}::text`;
    const source = sourceOf(key.ip) as string;
    const limits = this.#ctx.config.users.rateLimit;
    const prefix = isIPv4(source) ? limits.ipv4Prefix : limits.ipv6Prefix;
    return sql<string>`network(set_masklen(${source}::inet, ${prefix}))::text`;
  }
}

/** The network key of `ip`, or `undefined` without one. */
export function networkKey(ip: string | undefined): RateLimitKey | undefined {
  return ip === undefined ? undefined : { ip };
}

/** `rate_limited` with the time until the window (minute buckets, oldest first) drops below `max`. */
function retryAfter(
  rows: readonly { readonly bucket_start: Date; readonly hits: number }[],
  max: number,
  windowMs: number,
  now: Date,
): RateLimitedResult {
  let total = rows.reduce((sum, row) => sum + row.hits, 0);
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
