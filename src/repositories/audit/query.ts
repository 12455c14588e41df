import { sql } from 'kysely';
import { z } from 'zod';
import { ValidationError } from '../../errors/errors.js';
import { isBigintText, isTimestampText } from '../../validation/ids.js';
import type { RepositoryContext } from '../context.js';
import { AUDIT_ENTRY_COLUMNS, type AuditEntry, type AuditRow, toAuditEntry } from './audit-entry.js';

/**
 * Filters of `cb.audit.query()`. All optional; `from` is inclusive, `to` exclusive.
 *
 * @example
 * ```ts
 * import { AuditQueryInput } from 'carebase';
 * AuditQueryInput.parse({ userId, action: 'user.login', limit: 50 });
 * ```
 */
export const AuditQueryInput = z.strictObject({
  userId: z.uuid().optional(),
  action: z.string().min(1).max(100).optional(),
  resourceType: z.string().min(1).max(100).optional(),
  resourceId: z.string().min(1).max(200).optional(),
  subjectId: z.string().min(1).max(200).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  from: z.date().optional(),
  to: z.date().optional(),
  /** @default 50 */
  limit: z.number().int().min(1).max(1000).optional(),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(200).optional(),
});

/** Filters of `cb.audit.query()`. */
export type AuditQueryInput = z.input<typeof AuditQueryInput>;

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
 *   for (const entry of page.items) console.log(entry.occurredAt, entry.action, entry.actorUserId);
 *   cursor = page.nextCursor;
 * } while (cursor !== undefined);
 * ```
 */
export interface AuditPage {
  readonly items: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; undefined on the last page. */
  readonly nextCursor: string | undefined;
}

interface Cursor {
  readonly at: string;
  readonly id: string;
}

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeCursor(cursor: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      CURSOR_AT.test(value[0]) &&
      isTimestampText(value[0])
    ) {
      if (typeof value[1] === 'string' && isBigintText(value[1])) return { at: value[0], id: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw new ValidationError('invalid audit query at cursor: not a cursor returned by query()', [
    { path: ['cursor'], message: 'not a cursor returned by query()', code: 'invalid_cursor' },
  ]);
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id]), 'utf8').toString('base64url');
}

/** Runs a parsed query: keyset pagination on (occurred_at, id) descending. */
export async function queryAudit(
  ctx: RepositoryContext,
  input: z.output<typeof AuditQueryInput>,
): Promise<AuditPage> {
  const limit = input.limit ?? 50;
  const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  let query = ctx.db
    .selectFrom('audit_log')
    .select([...AUDIT_ENTRY_COLUMNS])
    .select(
      sql<string>`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('at_key'),
    );
  if (input.userId !== undefined) query = query.where('actor_user_id', '=', input.userId);
  if (input.action !== undefined) query = query.where('action', '=', input.action);
  if (input.resourceType !== undefined) query = query.where('resource_type', '=', input.resourceType);
  if (input.resourceId !== undefined) query = query.where('resource_id', '=', input.resourceId);
  if (input.subjectId !== undefined) query = query.where('subject_id', '=', input.subjectId);
  if (input.outcome !== undefined) query = query.where('outcome', '=', input.outcome);
  if (input.from !== undefined) query = query.where('occurred_at', '>=', input.from);
  if (input.to !== undefined) query = query.where('occurred_at', '<', input.to);
  if (cursor !== undefined) {
    query = query.where(sql<boolean>`(occurred_at, id) < (${cursor.at}::timestamptz, ${cursor.id}::bigint)`);
  }
  const rows = (await query
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute()) as (AuditRow & { at_key: string })[];
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toAuditEntry),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.at_key, last.id) : undefined,
  };
}
