import { type RawBuilder, sql } from 'kysely';

/**
 * The percentile sketch of the measure rollups: a DDSketch (Masson, Rim, Lee: "DDSketch: a fast
 * and fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019) with relative
 * accuracy {@link SKETCH_ALPHA}. A value v > 0 falls in bin k = ceil(ln v / ln gamma), gamma =
 * (1 + alpha) / (1 - alpha); every value of bin k lies in (gamma^(k-1), gamma^k], so the bin's
 * representative 2 gamma^k / (gamma + 1) is within alpha of each of them, relative. Negative values
 * mirror that; |v| < {@link SKETCH_MIN_MAGNITUDE} counts as zero. Bins merge by adding counts, so a
 * sketch over any hours is the sum of their hourly sketches, and a quantile read from it is the
 * representative of the bin holding the value of that rank: within alpha (relative) of the exact
 * order statistic.
 *
 * Stored bins are one integer that sorts like the values: 0 for zero, `OFFSET + k` for positive
 * values and `-(OFFSET + k)` for negative ones (|k| < OFFSET for every accepted magnitude).
 */
export const SKETCH_ALPHA = 0.01;
const GAMMA = (1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA);
const LN_GAMMA = Math.log(GAMMA);
const OFFSET = 100_000;
/** Magnitudes below this count as zero (absolute error at most this much). */
export const SKETCH_MIN_MAGNITUDE = 1e-9;

/** SQL: the bin of the numeric expression `value` (computed identically for rollups and raw reads). */
export function sketchBinSql(value: RawBuilder<unknown>): RawBuilder<number> {
  return sql<number>`(case when abs(${value}) < ${sql.lit(SKETCH_MIN_MAGNITUDE)}::numeric then 0
    else sign(${value})::integer * (${sql.lit(OFFSET)} + ceil(ln(abs(${value})::float8) / ${sql.lit(LN_GAMMA)}::float8)::integer) end)`;
}

/** The representative value of `bin`. */
export function sketchValue(bin: number): number {
  if (bin === 0) return 0;
  const k = Math.abs(bin) - OFFSET;
  const value = (2 * GAMMA ** k) / (GAMMA + 1);
  return bin < 0 ? -value : value;
}

/**
 * The bins holding the order statistics (0-based) at floor and ceil of q * (total - 1) of a merged
 * sketch (`bins` ascending, `counts` theirs): the two values `percentile_cont` interpolates
 * between. `undefined` for an empty sketch.
 */
export function sketchQuantileBins(
  bins: readonly number[],
  counts: readonly number[],
  q: number,
): readonly [number, number] | undefined {
  let total = 0;
  for (const count of counts) total += count;
  if (total === 0 || bins.length === 0) return undefined;
  const low = Math.floor(q * (total - 1));
  const high = Math.ceil(q * (total - 1));
  let cumulative = 0;
  let lowBin: number | undefined;
  for (let i = 0; i < bins.length; i++) {
    cumulative += counts[i] ?? 0;
    if (lowBin === undefined && cumulative > low) lowBin = bins[i];
    if (cumulative > high) return [lowBin ?? (bins[i] as number), bins[i] as number];
  }
  const last = bins[bins.length - 1] as number;
  return [lowBin ?? last, last];
}

/** The percentiles reported for a measure. */
export const PERCENTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;
