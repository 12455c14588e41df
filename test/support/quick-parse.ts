import { expect } from 'vitest';
import type { z } from 'zod';

/**
 * Holds a quick parse (`src/validation/quick.ts`) to its schema: whatever the quick parse accepts,
 * the schema accepts too and returns the same value (fields given as `undefined` aside).
 */
export interface QuickParseCheck {
  /** Checks one input; says whether the quick parse took it or declined it. */
  check(input: unknown): 'quick' | 'declined';
  /** Every variant of every field on `base`, alone: counts of inputs taken and declined. */
  fieldByField(base: Record<string, unknown>, variants: Record<string, readonly unknown[]>): CheckCounts;
  /** `count` seeded random combinations of the variants, `base`'s fields kept with probability `keep`. */
  combinations(
    base: Record<string, unknown>,
    variants: Record<string, readonly unknown[]>,
    count: number,
    keep: number,
  ): CheckCounts;
}

export interface CheckCounts {
  readonly quick: number;
  readonly declined: number;
}

/** The output without fields given as `undefined` (which the schema may keep as keys). */
function defined(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

export function quickParseCheck(
  quick: (input: unknown) => object | undefined,
  schema: z.ZodType,
): QuickParseCheck {
  const check = (input: unknown): 'quick' | 'declined' => {
    const taken = quick(input);
    if (taken === undefined) return 'declined';
    const parsed = schema.safeParse(input);
    expect(
      parsed.success,
      `the schema refuses what the quick parse accepted: ${JSON.stringify(input)?.slice(0, 300)}`,
    ).toBe(true);
    if (parsed.success) expect(defined(taken)).toEqual(defined(parsed.data as object));
    return 'quick';
  };
  return {
    check,
    fieldByField(base, variants) {
      let quickCount = 0;
      let declined = 0;
      for (const [field, values] of Object.entries(variants)) {
        for (const value of values) {
          if (check({ ...base, [field]: value }) === 'quick') quickCount++;
          else declined++;
        }
      }
      return { quick: quickCount, declined };
    },
    combinations(base, variants, count, keep) {
      let seed = 7;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      let quickCount = 0;
      let declined = 0;
      for (let i = 0; i < count; i++) {
        const input: Record<string, unknown> = {};
        for (const [field, values] of Object.entries(variants)) {
          if (random() < 0.5) input[field] = values[Math.floor(random() * values.length)];
        }
        for (const [field, value] of Object.entries(base)) {
          if (random() < keep) input[field] = value;
        }
        if (check(input) === 'quick') quickCount++;
        else declined++;
      }
      return { quick: quickCount, declined };
    },
  };
}
