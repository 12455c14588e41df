import type { z } from 'zod';
import { toValidationIssues } from '../../errors/validation.js';
import { sweepParsed } from '../../validation/sweep.js';
import { type ReportBuilder, rowPath } from './import-report.js';

/** A row that passed validation, with its place in the call. */
export interface ReadRow<T> {
  readonly index: number;
  readonly row: T;
}

/** A caller's own rule for a row: a refusal `[path, reason]`, or undefined to accept it. */
type RowCheck<T> = (
  row: T,
  index: number,
) => readonly [path: readonly PropertyKey[], reason: string] | undefined;

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
  check?: RowCheck<z.output<S>>,
): ReadRow<z.output<S>>[] {
  return new RowReader(schema, rows, list, report, check).read(0, rows.length);
}

/**
 * {@link readRows} a range at a time, so a long import can validate its next rows while the
 * database inserts the previous ones. Ranges must be read in order, each once: a repeated
 * external id is found across ranges, and refusals reach `report` in row order.
 */
export class RowReader<S extends z.ZodType> {
  readonly #seen = new Map<string, number>();
  readonly #schema: S;
  readonly #rows: readonly unknown[];
  readonly #list: string;
  readonly #report: ReportBuilder;
  readonly #check: RowCheck<z.output<S>> | undefined;

  constructor(
    schema: S,
    rows: readonly unknown[],
    list: string,
    report: ReportBuilder,
    check?: RowCheck<z.output<S>>,
  ) {
    this.#schema = schema;
    this.#rows = rows;
    this.#list = list;
    this.#report = report;
    this.#check = check;
  }

  /** The rows of `[from, to)` that pass, with their indexes in the whole call. */
  read(from: number, to: number): ReadRow<z.output<S>>[] {
    const accepted: ReadRow<z.output<S>>[] = [];
    for (let index = from; index < Math.min(to, this.#rows.length); index++) {
      const row = this.#one(this.#rows[index], index);
      if (row !== undefined) accepted.push({ index, row });
    }
    return accepted;
  }

  #one(input: unknown, index: number): z.output<S> | undefined {
    const list = this.#list;
    const report = this.#report;
    const raw = (input as { externalId?: unknown } | null)?.externalId;
    const externalId = typeof raw === 'string' && raw.length <= 200 ? raw : undefined;
    let parsed: z.ZodSafeParseResult<z.output<S>>;
    try {
      parsed = this.#schema.safeParse(input) as z.ZodSafeParseResult<z.output<S>>;
    } catch {
      report.refuse(rowPath(list, index), externalId, 'could not be read');
      return undefined;
    }
    if (!parsed.success) {
      const issue = toValidationIssues(parsed.error.issues)[0];
      report.refuse(rowPath(list, index, issue?.path ?? []), externalId, issue?.message ?? 'invalid');
      return undefined;
    }
    const swept = sweepParsed(parsed.data);
    if (swept !== undefined) {
      report.refuse(rowPath(list, index, swept.path), externalId, swept.message);
      return undefined;
    }
    const row = parsed.data as z.output<S> & { externalId: string };
    const first = this.#seen.get(row.externalId);
    if (first !== undefined) {
      report.refuse(
        rowPath(list, index, ['externalId']),
        row.externalId,
        `repeats the external id of ${rowPath(list, first)}`,
      );
      return undefined;
    }
    const refusal = this.#check?.(row, index);
    if (refusal !== undefined) {
      report.refuse(rowPath(list, index, refusal[0]), row.externalId, refusal[1]);
      return undefined;
    }
    this.#seen.set(row.externalId, index);
    return row;
  }
}
