import { z } from 'zod';

/** No lone UTF-16 surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
function isWellFormed(value: string): boolean {
  return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Whether `value` can be stored as PostgreSQL text (the fast check of {@link textProblem}). */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && isWellFormed(value);
}

/**
 * Why `value` cannot be stored as PostgreSQL text (or a JSON string), or `undefined` when it can:
 * a NUL character (U+0000), which PostgreSQL text and jsonb cannot hold, or a lone UTF-16
 * surrogate, which has no UTF-8 form. Such strings are refused, never rewritten (no U+FFFD).
 */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters (U+0000)';
  if (!isWellFormed(value)) {
    return 'must be well-formed Unicode (a lone UTF-16 surrogate cannot be stored as UTF-8)';
  }
  return undefined;
}

/**
 * A string PostgreSQL can store: no NUL (U+0000), no lone UTF-16 surrogate (refused, never rewritten).
 *
 * @example
 * ```ts
 * import { StorableTextSchema } from 'carebase/schemas';
 * StorableTextSchema.safeParse('a\u0000b').success; // false
 * StorableTextSchema.safeParse('\uD800').success; // false
 * ```
 */
export const StorableTextSchema = z.string().superRefine((value, ctx) => {
  const problem = textProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, params: { reason: 'text' } });
});

/**
 * The first `max` UTF-16 units of `value`, one fewer when the cut would split a surrogate pair,
 * so truncating never makes a lone surrogate.
 */
export function truncateText(value: string, max: number): string {
  if (value.length <= max) return value;
  const code = value.charCodeAt(max - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
