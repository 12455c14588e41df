import type { Selectable } from 'kysely';
import type { SessionsTable } from '../../schema/sessions.js';

/**
 * A login session as carebase returns it: never its token or the token's hash.
 *
 * @example
 * ```ts
 * import type { Session } from 'carebase';
 * const { items }: { items: readonly Session[] } = await cb.sessions.listForUser(userId);
 * ```
 */
export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly createdAt: Date;
  /** Last validation, written at most once per `sessions.touchIntervalMs`. */
  readonly lastSeenAt: Date;
  /** Absolute expiry: the session stops validating then, however active. */
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly revokeReason: string | null;
  /** When the user last proved their password (or completed a reset) for this session. */
  readonly authenticatedAt: Date;
  /** When the user last passed a second factor for this session; `null` when never. */
  readonly mfaAt: Date | null;
}

/** The `sessions` columns that make a {@link Session}: everything except `token_hash`. */
export const SESSION_COLUMNS = [
  'id',
  'user_id',
  'ip',
  'user_agent',
  'created_at',
  'last_seen_at',
  'expires_at',
  'revoked_at',
  'revoke_reason',
  'authenticated_at',
  'mfa_at',
] as const;

/** A `sessions` row without its token hash. */
export type SessionRow = Pick<Selectable<SessionsTable>, (typeof SESSION_COLUMNS)[number]>;

/** Maps a `sessions` row (selected with {@link SESSION_COLUMNS}) to a {@link Session}. */
export function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    userId: row.user_id,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokeReason: row.revoke_reason,
    authenticatedAt: row.authenticated_at ?? row.created_at,
    mfaAt: row.mfa_at,
  };
}
