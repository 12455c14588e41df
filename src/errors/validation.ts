import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';

/** Converts zod issues into value-free {@link ValidationIssue}s. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => {
    const reason =
      issue.code === 'custom' ? (issue.params as { reason?: unknown } | undefined)?.reason : undefined;
    return {
      path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))),
      message: issue.message,
      code: typeof reason === 'string' ? reason : issue.code,
    };
  });
}

/** A {@link ValidationError} for `issues` of the input called `what`, naming the first field. */
export function validationError(what: string, issues: readonly ValidationIssue[]): ValidationError {
  const first = issues[0];
  const where = first === undefined || first.path.length === 0 ? '' : ` at ${first.path.join('.')}`;
  return new ValidationError(`invalid ${what}${where}: ${first?.message ?? 'invalid input'}`, issues);
}
