import type { JsonValue } from '../../schema/audit.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { SESSION_COLUMNS, type Session, toSession } from '../sessions/session.js';
import type { User } from './user.js';

/**
 * One audit entry about a user, as included in their data export.
 *
 * @example
 * ```ts
 * const { audit } = await cb.users.exportData(id);
 * ```
 */
export interface ExportedAuditEntry {
  readonly id: string;
  readonly occurredAt: Date;
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string | null;
  readonly subjectId: string | null;
  readonly actorUserId: string | null;
  readonly actorType: string;
  readonly outcome: string;
  readonly outcomeDetail: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
  readonly changes: JsonValue | null;
  readonly metadata: JsonValue | null;
}

/**
 * Everything carebase holds about one user, as one JSON-serializable document (dates serialize
 * as ISO strings). Never contains the password hash, session tokens or their hashes.
 *
 * @example
 * ```ts
 * const data: UserDataExport = await cb.users.exportData(id);
 * ```
 */
export interface UserDataExport {
  readonly exportedAt: Date;
  readonly user: User;
  /** Every session, live or ended, without tokens or token hashes. */
  readonly sessions: readonly Session[];
  /** Audit entries the user performed or that are about them, oldest first. */
  readonly audit: readonly ExportedAuditEntry[];
  /** The user's chat history (filled by the chat module's `exportChatForUser`). */
  readonly chat?: JsonValue;
  /** The user's analytics events (filled by the analytics module's `exportAnalyticsForUser`). */
  readonly analytics?: JsonValue;
}

/**
 * What `cb.users.erase` removed.
 *
 * @example
 * ```ts
 * const { sessions }: UserErasure = await cb.users.erase(id);
 * ```
 */
export interface UserErasure {
  readonly userId: string;
  readonly sessions: number;
  /** Counts reported by the chat module's `eraseChatForUser` (wired in by the lead). */
  readonly chat?: Readonly<Record<string, number>>;
  /** Counts reported by the analytics module's `eraseAnalyticsForUser` (wired in by the lead). */
  readonly analytics?: Readonly<Record<string, number>>;
}

/** Collects the export of `user` on `ctx` (one transaction, so the parts are consistent). */
export async function collectUserData(ctx: RepositoryContext, user: User): Promise<UserDataExport> {
  const sessions = await ctx.db
    .selectFrom('sessions')
    .select(SESSION_COLUMNS)
    .where('user_id', '=', user.id)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const audit = await ctx.db
    .selectFrom('audit_log')
    .select([
      'id',
      'occurred_at',
      'action',
      'resource_type',
      'resource_id',
      'subject_id',
      'actor_user_id',
      'actor_type',
      'outcome',
      'outcome_detail',
      'ip',
      'user_agent',
      'request_id',
      'changes',
      'metadata',
    ])
    .where((eb) =>
      eb.or([
        eb('actor_user_id', '=', user.id),
        eb('subject_id', '=', user.id),
        eb.and([eb('resource_type', '=', 'user'), eb('resource_id', '=', user.id)]),
      ]),
    )
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();

  // --- data-subject export: chat and analytics (wired by the lead after merging) ---
  // const chat = await exportChatForUser(ctx, user.id);
  // const analytics = await exportAnalyticsForUser(ctx, user.id);
  // --- end ---

  return {
    exportedAt: ctx.now(),
    user,
    sessions: sessions.map(toSession),
    audit: audit.map((row) => ({
      id: row.id,
      occurredAt: row.occurred_at,
      action: row.action,
      resourceType: row.resource_type,
      resourceId: row.resource_id,
      subjectId: row.subject_id,
      actorUserId: row.actor_user_id,
      actorType: row.actor_type,
      outcome: row.outcome,
      outcomeDetail: row.outcome_detail,
      ip: row.ip,
      userAgent: row.user_agent,
      requestId: row.request_id,
      changes: row.changes,
      metadata: row.metadata,
    })),
  };
}

/**
 * Erases `userId` on `ctx` (call inside `ctx.atomic`): deletes the account row (sessions go with
 * it through their foreign key) and records `user.erase`. Audit entries are append-only and keep
 * only the user's uuid, which no longer resolves to a name or email: a pseudonymous reference.
 * Returns what was removed, or `undefined` when the user does not exist.
 */
export async function eraseUserData(
  ctx: RepositoryContext,
  userId: string,
): Promise<UserErasure | undefined> {
  const sessions = await ctx.db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();

  // --- data-subject erasure: chat and analytics (wired by the lead after merging) ---
  // const chat = await eraseChatForUser(ctx, userId);
  // const analytics = await eraseAnalyticsForUser(ctx, userId);
  // --- end ---

  const deleted = await ctx.db
    .deleteFrom('users')
    .where('id', '=', userId)
    .returning('id')
    .executeTakeFirst();
  if (deleted === undefined) return undefined;
  const erasure: UserErasure = { userId, sessions: Number(sessions.numDeletedRows) };
  await recordAudit(ctx, {
    action: 'user.erase',
    resourceType: 'user',
    resourceId: userId,
    subjectId: userId,
    metadata: { sessions: erasure.sessions },
  });
  return erasure;
}
