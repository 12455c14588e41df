import type { ValidationIssue } from '../errors/errors.js';
import { dateProblem } from './dates.js';
import { textProblem } from './text.js';

/** How deep the sweep looks; parsed inputs are bounded by their schemas well below this. */
const MAX_SWEEP_DEPTH = 64;

/**
 * The last line before SQL, run by `parseInput` on every parsed input of every repository: finds
 * the first string PostgreSQL cannot store (NUL, lone surrogate) and the first `Date` outside
 * carebase's range, at any depth, whichever field a schema forgot to constrain. Returns the issue
 * naming its path, or `undefined`. Walks plain data only (the output of a zod parse).
 */
export function sweepParsed(value: unknown): ValidationIssue | undefined {
  const path: (string | number)[] = [];
  const seen = new Set<object>();
  const visit = (node: unknown, depth: number): ValidationIssue | undefined => {
    if (typeof node === 'string') {
      const problem = textProblem(node);
      return problem === undefined ? undefined : { path: [...path], message: problem, code: 'invalid_text' };
    }
    if (typeof node !== 'object' || node === null) return undefined;
    if (node instanceof Date) {
      const problem = dateProblem(node);
      return problem === undefined ? undefined : { path: [...path], message: problem, code: 'invalid_date' };
    }
    if (depth >= MAX_SWEEP_DEPTH || seen.has(node)) return undefined;
    seen.add(node);
    const proto: unknown = Object.getPrototypeOf(node);
    if (!Array.isArray(node) && proto !== Object.prototype && proto !== null) return undefined;
    for (const [key, inner] of Object.entries(node)) {
      path.push(Array.isArray(node) ? Number(key) : key);
      const found = visit(inner, depth + 1);
      path.pop();
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(value, 0);
}
