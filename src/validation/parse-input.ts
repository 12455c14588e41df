import type { z } from 'zod';
import type { ValidationIssue } from '../errors/errors.js';
import { toValidationIssues, validationError } from '../errors/validation.js';
import { sweepParsed } from './sweep.js';

/**
 * Parses `input` with `schema` at a public method's edge: the one validation entry point of every
 * repository. Throws {@link ValidationError} naming the first bad field (never its value), before
 * any SQL runs; returns the parsed, defaulted value otherwise. Past the schema, the shared sweep
 * (src/validation/) refuses any string PostgreSQL cannot store and any date outside carebase's
 * range, whichever field it is in. An input that throws while being read (a getter, a proxy) is
 * refused too, never passed on as a raw error. `sweep: false` is for the one caller that answers
 * bad text itself instead of throwing (`authenticate`, which fails such a login like any other).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  options: {
    readonly sweep?: boolean;
    /**
     * A hand-written parse of the commonest valid inputs of a hot path: the schema's output, or
     * undefined to let the schema parse (and word any refusal). It must accept nothing the schema
     * refuses; the sweep runs on its output all the same.
     */
    readonly quick?: (input: unknown) => z.output<S> | undefined;
  } = {},
): z.output<S> {
  let result: { ok: true; data: z.output<S> } | { ok: false; issues: ValidationIssue[] };
  try {
    const quick = options.quick?.(input);
    if (quick !== undefined) result = { ok: true, data: quick };
    else {
      const parsed = schema.safeParse(input) as z.ZodSafeParseResult<z.output<S>>;
      // zod words some issues from the input (its type): also inside the guard.
      result = parsed.success
        ? { ok: true, data: parsed.data }
        : { ok: false, issues: toValidationIssues(parsed.error.issues) };
    }
  } catch {
    throw validationError(what, [{ path: [], message: 'could not be read', code: 'unreadable' }]);
  }
  if (!result.ok) throw validationError(what, result.issues);
  const swept = options.sweep === false ? undefined : sweepParsed(result.data);
  if (swept !== undefined) throw validationError(what, [swept]);
  return result.data;
}
