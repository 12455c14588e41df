import {
  type AnalyticsUserExport,
  eraseAnalyticsForUser,
  exportAnalyticsForUser,
} from '../analytics/data-subject.js';
import { AUDIT_ENTRY_COLUMNS, type AuditEntry, toAuditEntry } from '../audit/audit-entry.js';
import { recordAudit } from '../audit/record.js';
import {
  type ChatDataExport,
  type ChatErasureCounts,
  eraseChatForUser,
  exportChatForUser,
} from '../chat/data-subject.js';
import type { RepositoryContext } from '../context.js';
import { destroyDataKeys } from '../encryption/data-keys.js';
import { SESSION_COLUMNS, type Session, toSession } from '../sessions/session.js';
import type { User } from '../user.js';

/**
 * An audit entry in a data-subject export: the same shape `cb.audit.query` returns.
 *
 * @example
 * ```ts
 * import type { ExportedAuditEntry } from 'carebase';
 * const { audit } = await cb.users.exportData(userId);
 * const logins: ExportedAuditEntry[] = audit.filter((entry) => entry.action === 'user.login');
 * console.log(`${logins.length} logins, the last on ${logins.at(-1)?.occurredAt.toISOString()}`);
 * ```
 */
export type ExportedAuditEntry = AuditEntry;

/**
 * Everything carebase holds about one user, as one JSON-serializable document (dates serialize
 * as ISO strings). Never contains the password hash, session tokens or their hashes.
 *
 * @example
 * ```ts
 * import type { UserDataExport } from 'carebase';
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
  /** The user's conversations and messages. */
  readonly chat: ChatDataExport;
  /** The user's analytics events. */
  readonly analytics: AnalyticsUserExport;
  /** Second-factor enrolment (never the secret, codes or challenges). */
  readonly mfa: {
    readonly enabled: boolean;
    readonly enrolledAt: Date | null;
    readonly backupCodesLeft: number;
  };
}

/**
 * What `cb.users.erase` removed.
 *
 * @example
 * ```ts
 * import type { UserErasure } from 'carebase';
 * const { sessions }: UserErasure = await cb.users.erase(id);
 * ```
 */
export interface UserErasure {
  readonly userId: string;
  readonly sessions: number;
  /** Conversations and messages removed. */
  readonly chat: ChatErasureCounts;
  /** Analytics events removed. */
  readonly analytics: Awaited<ReturnType<typeof eraseAnalyticsForUser>>;
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
    .select(AUDIT_ENTRY_COLUMNS)
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

  const mfa = await ctx.db
    .selectFrom('user_mfa')
    .select(['confirmed_at'])
    .where('user_id', '=', user.id)
    .executeTakeFirst();
  const codes = await ctx.db
    .selectFrom('mfa_backup_codes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', user.id)
    .executeTakeFirstOrThrow();

  const chat = await exportChatForUser(ctx, user.id);
  const analytics = await exportAnalyticsForUser(ctx, user.id);

  return {
    exportedAt: ctx.now(),
    user,
    sessions: sessions.map(toSession),
    chat,
    analytics,
    audit: audit.map(toAuditEntry),
    mfa: {
      enabled: mfa?.confirmed_at != null,
      enrolledAt: mfa?.confirmed_at ?? null,
      backupCodesLeft: Number(codes.n),
    },
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

  const chat = await eraseChatForUser(ctx, userId);
  const analytics = await eraseAnalyticsForUser(ctx, userId);
  // Crypto-shredding: with the data keys gone, copies of the user's encrypted rows (replicas,
  // backups taken without encryption_data_keys, exports of raw rows) can no longer be decrypted.
  await destroyDataKeys(ctx, userId);

  const deleted = await ctx.db
    .deleteFrom('users')
    .where('id', '=', userId)
    .returning('id')
    .executeTakeFirst();
  if (deleted === undefined) return undefined;
  const erasure: UserErasure = { userId, sessions: Number(sessions.numDeletedRows), chat, analytics };
  await recordAudit(ctx, {
    action: 'user.erase',
    resourceType: 'user',
    resourceId: userId,
    subjectId: userId,
    metadata: { sessions: erasure.sessions },
  });
  return erasure;
}
