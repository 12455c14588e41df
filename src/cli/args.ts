import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './command.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The flags every database command accepts. */
export const CONNECTION_FLAGS = {
  url: { type: 'string' },
  schema: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/**
 * Parses `args` strictly (unknown flags and missing values are usage errors), allowing
 * positionals. Throws `UsageError`.
 *
 * @example
 * ```ts
 * const { values, positionals } = parseFlags(args, { ...CONNECTION_FLAGS, json: { type: 'boolean' } });
 * ```
 */
export function parseFlags<O extends Options>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    // node's messages name the flag, never its value.
    throw new UsageError(error instanceof Error ? error.message : 'invalid arguments');
  }
}

/**
 * Reads a positive whole number flag. Throws `UsageError` naming the flag.
 *
 * @example
 * ```ts
 * const steps = positiveInteger(values.steps, '--steps');
 * ```
 */
export function positiveInteger(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`${flag} must be a whole number of at least ${min}`);
  }
  return Number(value);
}
