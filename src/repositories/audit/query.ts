import { sql } from 'kysely';
import { z } from 'zod';
import {
  CURSOR_PATTERNS,
  type CursorSpec,
  decodeCursor,
  keysetPage,
  MAX_CURSOR_LENGTH,
} from '../../sql/cursor.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import type { RepositoryContext } from '../context.js';
import { AUDIT_ENTRY_COLUMNS, type AuditEntry, type AuditRow, toAuditEntry } from './audit-entry.js';
import { type AuditSeverity, AuditSeveritySchema } from './record.js';

const SEVERITIES = AuditSeveritySchema.options;

/**
 * Filters of `cb.audit.query()`. All optional; `from` is inclusive, `to` exclusive.
 *
 * @example
 * ```ts
 * import { AuditQueryInputSchema } from 'carebase/schemas';
 * AuditQueryInputSchema.parse({ userId, action: 'user.login', limit: 50 });
 * ```
 */
export const AuditQueryInputSchema = z.strictObject({
  userId: z.uuid().optional(),
  action: z.string().min(1).max(100).optional(),
  resourceType: z.string().min(1).max(100).optional(),
  resourceId: z.string().min(1).max(200).optional(),
  subjectId: z.string().min(1).max(200).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  /** Entries of this severity, or of any of these. */
  severity: z.union([AuditSeveritySchema, z.array(AuditSeveritySchema).min(1).max(5)]).optional(),
  /** Entries at least this serious (e.g. `'high'`: high and critical). */
  minSeverity: AuditSeveritySchema.optional(),
  purposeOfUse: z.string().min(1).max(200).optional(),
  legalBasis: z.string().min(1).max(500).optional(),
  recipient: z.string().min(1).max(500).optional(),
  /** Only break-glass entries (`true`) or only ordinary ones (`false`). */
  breakGlass: z.boolean().optional(),
  from: z.date().optional(),
  to: z.date().optional(),
  /** @default 50 */
  limit: z.number().int().min(1).max(1000).optional(),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});

/**
 * Filters and page of `cb.audit.query()`. All optional. Validated by `AuditQueryInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditQueryInput } from 'carebase';
 * const filter: AuditQueryInput = { resourceType: 'chart', resourceId, from, limit: 50 };
 * const { items, nextCursor } = await cb.audit.query(filter);
 * ```
 */
export interface AuditQueryInput {
  readonly userId?: string | undefined;
  readonly action?: string | undefined;
  readonly resourceType?: string | undefined;
  readonly resourceId?: string | undefined;
  readonly subjectId?: string | undefined;
  readonly outcome?: 'success' | 'failure' | undefined;
  /** Entries of this severity, or of any of these. */
  readonly severity?: AuditSeverity | AuditSeverity[] | undefined;
  /** Entries at least this serious (e.g. `'high'`: high and critical). */
  readonly minSeverity?: AuditSeverity | undefined;
  readonly purposeOfUse?: string | undefined;
  readonly legalBasis?: string | undefined;
  readonly recipient?: string | undefined;
  /** Only break-glass entries (`true`) or only ordinary ones (`false`). */
  readonly breakGlass?: boolean | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  /** @default 50 */
  readonly limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

/**
 * A page of entries, newest first.
 *
 * @example
 * ```ts
 * import type { AuditPage } from 'carebase';
 * // Walk every entry about one patient record, newest first, page by page.
 * let cursor: string | undefined;
 * do {
 *   const page: AuditPage = await cb.audit.query({
 *     resourceType: 'patient',
 *     resourceId,
 *     limit: 200,
 *     cursor,
 *   });
 *   for (const entry of page.items) console.log(entry.occurredAt, entry.action, entry.userId);
 *   cursor = page.nextCursor;
 * } while (cursor !== undefined);
 * ```
 */
export interface AuditPage {
  readonly items: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; undefined on the last page. */
  readonly nextCursor: string | undefined;
}

/** Cursors of `query()`: newest first. */
const AUDIT_CURSOR: CursorSpec = {
  kind: 'audit',
  key: CURSOR_PATTERNS.timestamp,
  id: CURSOR_PATTERNS.bigint,
  legacyKey: CURSOR_PATTERNS.timestamp,
};

/** Runs a parsed query: keyset pagination on (occurred_at, id) descending. */
export async function queryAudit(
  ctx: RepositoryContext,
  input: z.output<typeof AuditQueryInputSchema>,
): Promise<AuditPage> {
  const limit = input.limit ?? 50;
  const cursor = input.cursor === undefined ? undefined : decodeCursor(AUDIT_CURSOR, input.cursor);
  let query = ctx.db
    .selectFrom('audit_log')
    .select([...AUDIT_ENTRY_COLUMNS])
    .select(sql.raw<string>(exactTimestamp('occurred_at')).as('sort_key'));
  if (input.userId !== undefined) query = query.where('actor_user_id', '=', input.userId);
  if (input.action !== undefined) query = query.where('action', '=', input.action);
  if (input.resourceType !== undefined) query = query.where('resource_type', '=', input.resourceType);
  if (input.resourceId !== undefined) query = query.where('resource_id', '=', input.resourceId);
  if (input.subjectId !== undefined) query = query.where('subject_id', '=', input.subjectId);
  if (input.outcome !== undefined) query = query.where('outcome', '=', input.outcome);
  if (input.severity !== undefined) {
    query = query.where('severity', 'in', Array.isArray(input.severity) ? input.severity : [input.severity]);
  }
  if (input.minSeverity !== undefined) {
    query = query.where('severity', 'in', SEVERITIES.slice(SEVERITIES.indexOf(input.minSeverity)));
  }
  if (input.purposeOfUse !== undefined) query = query.where('purpose_of_use', '=', input.purposeOfUse);
  if (input.legalBasis !== undefined) query = query.where('legal_basis', '=', input.legalBasis);
  if (input.recipient !== undefined) query = query.where('recipient', '=', input.recipient);
  if (input.breakGlass !== undefined) query = query.where('break_glass', '=', input.breakGlass);
  if (input.from !== undefined) query = query.where('occurred_at', '>=', input.from);
  if (input.to !== undefined) query = query.where('occurred_at', '<', input.to);
  if (cursor !== undefined) {
    query = query.where(sql<boolean>`(occurred_at, id) < (${cursor.key}::timestamptz, ${cursor.id}::bigint)`);
  }
  const rows = (await query
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute()) as (AuditRow & { sort_key: string })[];
  return keysetPage(rows, limit, toAuditEntry, AUDIT_CURSOR, (row) => ({ key: row.sort_key, id: row.id }));
}
