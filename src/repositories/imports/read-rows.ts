import type { z } from 'zod';
import { toValidationIssues } from '../../errors/validation.js';
import { sweepParsed } from '../../validation/sweep.js';
import { type ReportBuilder, rowPath } from './import-report.js';

/** A row that passed validation, with its place in the call. */
export interface ReadRow<T> {
  readonly index: number;
  readonly row: T;
}

/**
 * Validates each row of `rows` on its own: a bad row is refused into `report` (its path, e.g.
 * `messages[12].content`, and the reason; never its values) and the others go on. A row whose
 * `externalId` repeats an earlier row's is refused too. `check` adds the caller's own rules
 * (returns a refusal `[path, reason]` or undefined).
 */
export function readRows<S extends z.ZodType>(
  schema: S,
  rows: readonly unknown[],
  list: string,
  report: ReportBuilder,
  check?: (
    row: z.output<S>,
    index: number,
  ) => readonly [path: readonly PropertyKey[], reason: string] | undefined,
): ReadRow<z.output<S>>[] {
  const accepted: ReadRow<z.output<S>>[] = [];
  const seen = new Map<string, number>();
  rows.forEach((input, index) => {
    const raw = (input as { externalId?: unknown } | null)?.externalId;
    const externalId = typeof raw === 'string' && raw.length <= 200 ? raw : undefined;
    let parsed: z.ZodSafeParseResult<z.output<S>>;
    try {
      parsed = schema.safeParse(input) as z.ZodSafeParseResult<z.output<S>>;
    } catch {
      report.refuse(rowPath(list, index), externalId, 'could not be read');
      return;
    }
    if (!parsed.success) {
      const issue = toValidationIssues(parsed.error.issues)[0];
      report.refuse(rowPath(list, index, issue?.path ?? []), externalId, issue?.message ?? 'invalid');
      return;
    }
    const swept = sweepParsed(parsed.data);
    if (swept !== undefined) {
      report.refuse(rowPath(list, index, swept.path), externalId, swept.message);
      return;
    }
    const row = parsed.data as z.output<S> & { externalId: string };
    const first = seen.get(row.externalId);
    if (first !== undefined) {
      report.refuse(
        rowPath(list, index, ['externalId']),
        row.externalId,
        `repeats the external id of ${rowPath(list, first)}`,
      );
      return;
    }
    const refusal = check?.(row, index);
    if (refusal !== undefined) {
      report.refuse(rowPath(list, index, refusal[0]), row.externalId, refusal[1]);
      return;
    }
    seen.set(row.externalId, index);
    accepted.push({ index, row });
  });
  return accepted;
}
