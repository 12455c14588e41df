import type { Generated } from 'kysely';

/**
 * `auth_rate_limits`: hit counts by minute bucket per network (failures, reset requests) or per
 * account key (reset requests per login, verification requests per account), summed over a sliding
 * window by carebase's rate limits (`users.rateLimit`). Old buckets are pruned by the writes.
 *
 * @example
 * ```ts
 * // The networks with the most failed logins in the last 15 minutes.
 * const noisy = await cb.db
 *   .selectFrom('auth_rate_limits')
 *   .select(['source', (eb) => eb.fn.sum<number>('hits').as('hits')])
 *   .where('scope', '=', 'failure')
 *   .where('bucket_start', '>', new Date(Date.now() - 15 * 60_000))
 *   .groupBy('source')
 *   .execute();
 * ```
 */
export interface AuthRateLimitsTable {
  scope: 'failure' | 'reset_request' | 'reset_login' | 'verification_request';
  /** A network as CIDR text, or `sha256:<hex>` of an account key (never a login in clear). */
  source: string;
  bucket_start: Date;
  hits: Generated<number>;
}
