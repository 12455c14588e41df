import { UsageError } from './usage-error.js';

/** One flag of a command, as `node:util` parseArgs takes it, plus its help line. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's placeholder in help, e.g. `DIR`. */
  readonly value?: string;
  readonly description: string;
}

/** A flag's string value (undefined when absent). */
export function stringFlag(
  values: Readonly<Record<string, string | boolean | undefined>>,
  name: string,
): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Reads a whole-number flag within `[min, max]`. Throws `UsageError` naming the flag.
 *
 * @example
 * ```ts
 * const steps = integerFlag(values, 'steps', 1);
 * ```
 */
export function integerFlag(
  values: Readonly<Record<string, string | boolean | undefined>>,
  name: string,
  min: number,
  max = 2_147_483_647,
): number | undefined {
  const value = stringFlag(values, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}
