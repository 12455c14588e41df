import { z } from 'zod';

/**
 * Input of `cb.pseudonym(value, { purpose })`: a non-empty value of at most 4096 characters
 * without lone surrogates (they would collide after UTF-8 encoding), and a purpose label.
 *
 * @example
 * ```ts
 * import { PseudonymInputSchema } from 'carebase/schemas';
 * const ok = PseudonymInputSchema.safeParse({ value: 'MRN-0042', purpose: 'audit.subject' }).success;
 * ```
 */
export const PseudonymInputSchema = z.strictObject({
  value: z
    .string()
    .min(1)
    .max(4096)
    .refine(
      (value) => (value as unknown as { isWellFormed(): boolean }).isWellFormed(),
      'must not contain lone surrogates',
    ),
  purpose: z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,99}$/, 'must match [a-z0-9][a-z0-9._:-]{0,99}'),
});

/**
 * What `cb.pseudonym(value, { purpose })` takes, as one object (see {@link PseudonymInputSchema}).
 *
 * @example
 * ```ts
 * import type { PseudonymInput } from 'carebase';
 * const input: PseudonymInput = { value: 'MRN-0042', purpose: 'audit.subject' };
 * const subjectId = cb.pseudonym(input.value, { purpose: input.purpose });
 * ```
 */
export interface PseudonymInput {
  /** 1 to 4096 characters, used exactly as given. */
  readonly value: string;
  /** `[a-z0-9][a-z0-9._:-]{0,99}`, e.g. `audit.subject`. */
  readonly purpose: string;
}
