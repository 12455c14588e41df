import { sql } from 'kysely';
import { z } from 'zod';
import { ValidationError } from '../../errors/errors.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';
import { AUDIT_ENTRY_COLUMNS, type AuditEntry, type AuditRow, toAuditEntry } from './audit-entry.js';

/** Rows fetched per keyset page of a report. */
const PAGE = 500;

const range = {
  /** Inclusive. */
  from: z.date().optional(),
  /** Exclusive. */
  to: z.date().optional(),
};

/**
 * Input of `cb.audit.report.accessesToSubject()`.
 *
 * @example
 * ```ts
 * import { AccessReportInputSchema } from 'carebase/schemas';
 * AccessReportInputSchema.parse({ subjectId: 'patient-7', from: new Date('2026-01-01') });
 * ```
 */
export const AccessReportInputSchema = z.strictObject({ subjectId: z.string().min(1).max(200), ...range });
/**
 * Input of `cb.audit.report.accessesToSubject()`; validated by `AccessReportInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AccessReportInput } from 'carebase';
 * const input: AccessReportInput = { subjectId: 'patient-7', from: new Date('2026-01-01') };
 * ```
 */
export interface AccessReportInput {
  /** Whose records (a patient or person id). */
  readonly subjectId: string;
  /** Inclusive. */
  readonly from?: Date | undefined;
  /** Exclusive. */
  readonly to?: Date | undefined;
}

/**
 * Input of `cb.audit.report.disclosures()`: `from` defaults to six years before now (the HIPAA
 * 164.528 accounting period).
 *
 * @example
 * ```ts
 * import { DisclosureReportInputSchema } from 'carebase/schemas';
 * DisclosureReportInputSchema.parse({ subjectId: 'patient-7' });
 * ```
 */
export const DisclosureReportInputSchema = z.strictObject({
  subjectId: z.string().min(1).max(200),
  ...range,
});
/**
 * Input of `cb.audit.report.disclosures()`; validated by `DisclosureReportInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { DisclosureReportInput } from 'carebase';
 * const input: DisclosureReportInput = { subjectId: 'patient-7' };
 * ```
 */
export interface DisclosureReportInput {
  /** Whose records (a patient or person id). */
  readonly subjectId: string;
  /** Inclusive. */
  readonly from?: Date | undefined;
  /** Exclusive. */
  readonly to?: Date | undefined;
}

/**
 * Input of `cb.audit.report.breakGlass()`.
 *
 * @example
 * ```ts
 * import { BreakGlassReportInputSchema } from 'carebase/schemas';
 * BreakGlassReportInputSchema.parse({ from: new Date('2026-07-01'), to: new Date('2026-08-01') });
 * ```
 */
export const BreakGlassReportInputSchema = z.strictObject(range);
/**
 * Input of `cb.audit.report.breakGlass()`; validated by `BreakGlassReportInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { BreakGlassReportInput } from 'carebase';
 * const input: BreakGlassReportInput = { from: new Date('2026-07-01'), to: new Date('2026-08-01') };
 * ```
 */
export interface BreakGlassReportInput {
  /** Inclusive. */
  readonly from?: Date | undefined;
  /** Exclusive. */
  readonly to?: Date | undefined;
}

/**
 * One line of an accounting of disclosures (HIPAA 164.528): when, to whom, what, and why.
 *
 * @example
 * ```ts
 * import type { AuditDisclosure } from 'carebase';
 * for await (const d of cb.audit.report.disclosures({ subjectId: 'patient-7' })) {
 *   const line: AuditDisclosure = d;
 *   console.log(line.occurredAt.toISOString(), line.recipient, line.purposeOfUse, line.description);
 * }
 * ```
 */
export interface AuditDisclosure {
  readonly entryId: string;
  readonly occurredAt: Date;
  readonly recipient: string;
  readonly purposeOfUse: string | null;
  readonly description: string | null;
  readonly legalBasis: string | null;
  /** Who disclosed it. */
  readonly userId: string | null;
  readonly resourceType: string;
  readonly resourceId: string | null;
}

type Filter = { kind: 'subject'; subjectId: string; disclosures: boolean } | { kind: 'break-glass' };

function checkRange(from: Date | undefined, to: Date | undefined): void {
  if (from !== undefined && to !== undefined && from.getTime() > to.getTime()) {
    throw new ValidationError('invalid report range at to: must not be before from', [
      { path: ['to'], message: 'must not be before from', code: 'custom' },
    ]);
  }
}

/** Entries matching `filter` in [from, to), oldest first, a keyset page at a time. */
async function* entries(
  ctx: RepositoryContext,
  filter: Filter,
  from: Date | undefined,
  to: Date | undefined,
): AsyncGenerator<AuditEntry> {
  let after: { key: string; id: string } | undefined;
  for (;;) {
    let query = ctx.db
      .selectFrom('audit_log')
      .select([...AUDIT_ENTRY_COLUMNS])
      .select(sql.raw<string>(exactTimestamp('occurred_at')).as('sort_key'));
    if (filter.kind === 'subject') {
      query = query.where('subject_id', '=', filter.subjectId);
      if (filter.disclosures) query = query.where('recipient', 'is not', null);
    } else {
      query = query.where('break_glass', '=', true);
    }
    if (from !== undefined) query = query.where('occurred_at', '>=', from);
    if (to !== undefined) query = query.where('occurred_at', '<', to);
    if (after !== undefined) {
      query = query.where(sql<boolean>`(occurred_at, id) > (${after.key}::timestamptz, ${after.id}::bigint)`);
    }
    // One row past the page tells whether another page follows, so the last page costs no extra query.
    const rows = (await query
      .orderBy('occurred_at', 'asc')
      .orderBy('id', 'asc')
      .limit(PAGE + 1)
      .execute()) as (AuditRow & { sort_key: string })[];
    const page = rows.length > PAGE ? rows.slice(0, PAGE) : rows;
    for (const row of page) yield toAuditEntry(row);
    const last = page.at(-1);
    if (last === undefined || rows.length <= PAGE) return;
    after = { key: last.sort_key, id: last.id };
  }
}

/**
 * Compliance reports over the audit log, streamed (async iterables, oldest first, read a page of
 * 500 entries at a time through the index on subject and time, or the break-glass index): the
 * memory they hold does not grow with the report. Available as `cb.audit.report`.
 *
 * @example
 * ```ts
 * for await (const entry of cb.audit.report.accessesToSubject({ subjectId: 'patient-7' })) {
 *   console.log(entry.occurredAt, entry.userId, entry.action, entry.purposeOfUse, entry.ip);
 * }
 * ```
 */
export class AuditReports {
  readonly #ctx: RepositoryContext;

  /** @internal Use `cb.audit.report`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Every entry about `subjectId` (reads recorded by `access()`, disclosures, changes, exports):
   * who (`userId`, `actorType`), when, what (`action`, resource), why (`purposeOfUse`,
   * `legalBasis`), from where (`ip`, `userAgent`), and whether it was break-glass access.
   *
   * Throws `ValidationError` (synchronously) for bad input.
   *
   * @example
   * ```ts
   * const rows = [];
   * for await (const entry of cb.audit.report.accessesToSubject({ subjectId: 'patient-7', from, to })) rows.push(entry);
   * ```
   */
  accessesToSubject(input: AccessReportInput): AsyncIterableIterator<AuditEntry> {
    const parsed = parseInput(AccessReportInputSchema, input, 'access report');
    checkRange(parsed.from, parsed.to);
    return entries(
      this.#ctx,
      { kind: 'subject', subjectId: parsed.subjectId, disclosures: false },
      parsed.from,
      parsed.to,
    );
  }

  /**
   * The accounting of disclosures of `subjectId`'s records (HIPAA 164.528): every entry with a
   * recipient (see `audit.disclosure()`), with date, recipient, purpose and description; `from`
   * defaults to six years ago.
   *
   * Throws `ValidationError` (synchronously) for bad input.
   *
   * @example
   * ```ts
   * for await (const d of cb.audit.report.disclosures({ subjectId: 'patient-7' })) console.log(d.recipient);
   * ```
   */
  disclosures(input: DisclosureReportInput): AsyncIterableIterator<AuditDisclosure> {
    const parsed = parseInput(DisclosureReportInputSchema, input, 'disclosure report');
    const from = parsed.from ?? new Date(this.#ctx.now().getTime());
    if (parsed.from === undefined) from.setUTCFullYear(from.getUTCFullYear() - 6);
    checkRange(from, parsed.to);
    const source = entries(
      this.#ctx,
      { kind: 'subject', subjectId: parsed.subjectId, disclosures: true },
      from,
      parsed.to,
    );
    return (async function* () {
      for await (const entry of source) {
        yield {
          entryId: entry.id,
          occurredAt: entry.occurredAt,
          recipient: entry.recipient ?? '',
          purposeOfUse: entry.purposeOfUse,
          description: entry.description,
          legalBasis: entry.legalBasis,
          userId: entry.userId,
          resourceType: entry.resourceType,
          resourceId: entry.resourceId,
        };
      }
    })();
  }

  /**
   * Every break-glass (emergency access) entry in [`from`, `to`), for review.
   *
   * Throws `ValidationError` (synchronously) for bad input.
   *
   * @example
   * ```ts
   * for await (const entry of cb.audit.report.breakGlass({ from, to })) console.log(entry.userId, entry.breakGlassReason);
   * ```
   */
  breakGlass(input: BreakGlassReportInput = {}): AsyncIterableIterator<AuditEntry> {
    const parsed = parseInput(BreakGlassReportInputSchema, input, 'break-glass report');
    checkRange(parsed.from, parsed.to);
    return entries(this.#ctx, { kind: 'break-glass' }, parsed.from, parsed.to);
  }
}
