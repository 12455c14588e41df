import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';

/** Converts zod issues into value-free {@link ValidationIssue}s. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * Parses `input` with `schema` at a public method's edge. Throws {@link ValidationError} naming
 * the first bad field (never its value); returns the parsed, defaulted value otherwise.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = toValidationIssues(result.error.issues);
  const first = issues[0];
  const where = first === undefined || first.path.length === 0 ? '' : ` at ${first.path.join('.')}`;
  throw new ValidationError(`invalid ${what}${where}: ${first?.message ?? 'invalid input'}`, issues);
}
