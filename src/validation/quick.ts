import { isIP } from 'node:net';
import { regexes } from 'zod/v4/core';
import { checkJson, isJsonObjectCandidate, type JsonLimits } from './json.js';
import { textProblem } from './text.js';

/**
 * Quick parses: hand-written parses of a hot path's commonest valid inputs, for `parseInput`'s
 * `quick` option. A zod parse of a typical `audit.log` entry cost about a fifth of the call's
 * client time at one writer. A quick parse returns the schema's output, or `undefined` to decline,
 * and the schema then parses the input (and words any refusal). It must accept nothing its schema
 * refuses: each one has a test holding it to its schema over every field's edges.
 */

/** One field's check: its parsed value, or `undefined` to decline the whole input. */
export type QuickField = (value: unknown) => unknown;

/**
 * The quick parse of a strict object schema whose fields are `fields` (all optional but
 * `required`): a plain object with only those keys, each passing its check. A key given as
 * `undefined` is left out, as an optional field allows. Declines anything else (other keys, a
 * class instance, a missing required field), so fields the quick parse does not know (e.g. a
 * nested object it leaves to the schema) simply go to the schema. `refine` mirrors the schema's
 * `.refine()`: the parsed object is declined when it returns false.
 */
export function quickObject(
  fields: Readonly<Record<string, QuickField>>,
  required: readonly string[],
  refine?: (parsed: Readonly<Record<string, unknown>>) => boolean,
): (input: unknown) => Readonly<Record<string, unknown>> | undefined {
  const checks = new Map(Object.entries(fields));
  const requiredKeys = new Set(required);
  return (input) => {
    if (typeof input !== 'object' || input === null) return undefined;
    const proto: unknown = Object.getPrototypeOf(input);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const out: Record<string, unknown> = {};
    let found = 0;
    for (const key of Object.keys(input)) {
      const check = checks.get(key);
      if (check === undefined) return undefined;
      const value = (input as Record<string, unknown>)[key];
      if (value === undefined) {
        if (requiredKeys.has(key)) return undefined;
        continue;
      }
      const parsed = check(value);
      if (parsed === undefined) return undefined;
      out[key] = parsed;
      if (requiredKeys.has(key)) found++;
    }
    return found === requiredKeys.size && (refine === undefined || refine(out)) ? out : undefined;
  };
}

/** A string of `min` to `max` UTF-16 code units (zod's `.min()` / `.max()`). */
function isText(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

/** Any JSON value `checkJson` accepts within `limits`: the checked plain copy. */
function jsonField(limits?: JsonLimits): QuickField {
  return (value) => {
    const checked = checkJson(value, limits);
    return 'message' in checked ? undefined : checked.value;
  };
}
const anyJson = jsonField();

/** zod's `z.uuid()` pattern (any RFC 9562 version, nil and max). */
const UUID = regexes.uuid();

/** Checks of `QuickField`, each mirroring one zod schema. */
export const quick = {
  /** `z.string().min(min).max(max)` (UTF-16 code units), with `pattern` when given (`.regex()`). */
  text(min: number, max: number, pattern?: RegExp): QuickField {
    return (value) =>
      isText(value, min, max) && (pattern === undefined || pattern.test(value)) ? value : undefined;
  },
  /** `StorableTextSchema.min(min).max(max)`: text PostgreSQL can store (no NUL, no lone surrogate). */
  storableText(min = 0, max = Number.POSITIVE_INFINITY): QuickField {
    return (value) => (isText(value, min, max) && textProblem(value) === undefined ? value : undefined);
  },
  /** `z.uuid()`. */
  uuid: ((value) => (typeof value === 'string' && UUID.test(value) ? value : undefined)) as QuickField,
  /** `z.uuid().nullable()`. */
  nullableUuid: ((value) =>
    value === null || (typeof value === 'string' && UUID.test(value)) ? value : undefined) as QuickField,
  /** `z.enum(values)`. */
  oneOf(...values: readonly string[]): QuickField {
    const allowed = new Set(values);
    return (value) => (typeof value === 'string' && allowed.has(value) ? value : undefined);
  },
  /** `z.string().refine((value) => isIP(value) !== 0)`. */
  ip: ((value) => (typeof value === 'string' && isIP(value) !== 0 ? value : undefined)) as QuickField,
  /** `z.date()`: a valid `Date`. */
  date: ((value) =>
    value instanceof Date && !Number.isNaN(value.getTime()) ? value : undefined) as QuickField,
  /** `z.boolean()`. */
  boolean: ((value) => (typeof value === 'boolean' ? value : undefined)) as QuickField,
  /** `z.number().int().min(min).max(max)`. */
  integer(min: number, max: number): QuickField {
    return (value) =>
      typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
        ? value
        : undefined;
  },
  /** Any JSON value `checkJson` accepts within `limits` (`checkJson` in a zod transform). */
  json: jsonField,
  /** `jsonObjectSchema()` with the default limits: the checked plain copy. */
  jsonObject: ((value) => (isJsonObjectCandidate(value) ? anyJson(value) : undefined)) as QuickField,
};
