import { sql } from 'kysely';
import { z } from 'zod';
import type { JsonValue } from '../../schema/audit.js';
import { parseInput } from '../../validation/parse-input.js';
import type { RepositoryContext } from '../context.js';

const UserIdSchema = z.uuid();

/**
 * One exported analytics event (JSON-serializable).
 *
 * @example
 * ```ts
 * import type { ExportedAnalyticsEvent } from 'carebase';
 * const { analytics } = await cb.users.exportData(userId);
 * const views: ExportedAnalyticsEvent[] = analytics.events.filter(
 *   (event) => event.eventName === 'page.view',
 * );
 * console.log(views.map((event) => event.occurredAt));
 * ```
 */
export interface ExportedAnalyticsEvent {
  readonly occurredAt: string;
  readonly sessionId: string | null;
  readonly eventType: string;
  readonly eventName: string;
  readonly data: JsonValue | null;
  /** The event's numeric measures, if any. */
  readonly measures: JsonValue | null;
}

/**
 * A user's analytics data, for a data-subject access request.
 *
 * @example
 * ```ts
 * import type { AnalyticsUserExport } from 'carebase';
 * const { analytics }: { analytics: AnalyticsUserExport } = await cb.users.exportData(userId);
 * console.log(`${analytics.events.length} analytics events in the export`);
 * ```
 */
export interface AnalyticsUserExport {
  readonly events: readonly ExportedAnalyticsEvent[];
}

/**
 * Returns every raw analytics event of `userId`, oldest first, as JSON-serializable data (for
 * `users.exportData`). Rollups hold only counts and anonymous bitmap bits, no per-user rows.
 * With `rls: true` it reads as the subject (`carebase.actor_user_id`), whatever `ctx`'s user.
 *
 * Throws `ValidationError` for a malformed id. Read-only; safe to call concurrently.
 *
 * @example
 * ```ts
 * const data = await exportAnalyticsForUser(cb.context, userId);
 * ```
 */
export async function exportAnalyticsForUser(
  ctx: RepositoryContext,
  userId: string,
): Promise<AnalyticsUserExport> {
  const id = parseInput(UserIdSchema, userId, 'user id');
  // Row-level security (`rls: true`): read as the subject, whose events the policies show.
  const rows = await ctx
    .actingFor(id)
    .scoped((tx) =>
      tx.db
        .selectFrom('analytics_events')
        .select(['occurred_at', 'session_id', 'event_type', 'event_name', 'data', 'measures'])
        .where('user_id', '=', id)
        .orderBy('occurred_at')
        .orderBy('id')
        .execute(),
    );
  return {
    events: rows.map((row) => ({
      occurredAt: row.occurred_at.toISOString(),
      sessionId: row.session_id,
      eventType: row.event_type,
      eventName: row.event_name,
      data: row.data,
      measures: row.measures,
    })),
  };
}

/**
 * Erases `userId` from analytics (for `users.erase`): deletes the user's raw events and the
 * user's entry in the bitmap key table, so rollups keep only anonymous counts (the hours touched
 * are recomputed without the user at the next refresh, where raw events are still retained).
 * Atomic; idempotent. Returns how many events were deleted. With `rls: true` it deletes as the
 * subject (`carebase.actor_user_id`), whatever `ctx`'s user.
 *
 * Throws `ValidationError` for a malformed id.
 *
 * @example
 * ```ts
 * const { events } = await eraseAnalyticsForUser(cb.context, userId);
 * ```
 */
export async function eraseAnalyticsForUser(
  ctx: RepositoryContext,
  userId: string,
): Promise<{ events: number }> {
  const id = parseInput(UserIdSchema, userId, 'user id');
  // Row-level security (`rls: true`): deleted as the subject, whose rows the policies show.
  return ctx.actingFor(id).atomic(async (tx) => {
    const deleted = await tx.db.deleteFrom('analytics_events').where('user_id', '=', id).executeTakeFirst();
    await sql`delete from ${sql.id(tx.config.schema, 'analytics_user_keys')} where user_id = ${id}`.execute(
      tx.db,
    );
    return { events: Number(deleted.numDeletedRows) };
  });
}
