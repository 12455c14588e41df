import { sql } from 'kysely';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../errors/errors.js';
import { CURSOR_PATTERNS, type CursorSpec, decodeCursor, keysetPage } from '../../sql/cursor.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { toUser, type User } from '../user.js';
import { SESSION_COLUMNS, type Session, toSession } from './session.js';
import {
  type PurgeExpiredInput,
  PurgeExpiredInputSchema,
  type RecordAuthenticationInput,
  RecordAuthenticationInputSchema,
  type RevokeAllInput,
  RevokeAllInputSchema,
  RevokeReasonSchema,
  type SessionCreateInput,
  SessionCreateInputSchema,
  type SessionListInput,
  SessionListInputSchema,
  type SessionValidateInput,
  SessionValidateInputSchema,
} from './session-inputs.js';
import { runPrepared, sessionStatements, type ValidateRow } from './session-statements.js';
import { generateSessionToken, hashSessionToken, SESSION_TOKEN_PATTERN } from './session-token.js';
import { VALIDATE_BATCHER } from './validate-batch.js';

/**
 * What `cb.sessions.create` returns: the token (shown once, never stored) and the session.
 *
 * @example
 * ```ts
 * import type { CreatedSession } from 'carebase';
 * const { token, session }: CreatedSession = await cb.sessions.create({ userId });
 * ```
 */
export interface CreatedSession {
  /** 256 random bits, base64url: hand it to the client (e.g. an HttpOnly cookie). */
  readonly token: string;
  readonly session: Session;
}

/**
 * A valid session and its (active) user, as `cb.sessions.validate` returns them.
 *
 * @example
 * ```ts
 * import type { ValidatedSession } from 'carebase';
 * const found: ValidatedSession | undefined = await cb.sessions.validate(token);
 * ```
 */
export interface ValidatedSession {
  readonly session: Session;
  readonly user: User;
}

/**
 * A page of sessions.
 *
 * @example
 * ```ts
 * import type { SessionPage } from 'carebase';
 * const page: SessionPage = await cb.sessions.listForUser(userId, { limit: 10 });
 * ```
 */
export interface SessionPage {
  readonly items: readonly Session[];
  readonly nextCursor: string | undefined;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 24 * 60 * 60_000;

/** Cursors of `listForUser()`: newest first. */
const SESSIONS_CURSOR: CursorSpec = {
  kind: 'sessions',
  key: CURSOR_PATTERNS.timestamp,
  id: CURSOR_PATTERNS.uuid,
  legacyKey: CURSOR_PATTERNS.timestamptzText,
};

/**
 * Login sessions: opaque 256-bit tokens of which only a SHA-256 is stored, an idle timeout and
 * an absolute lifetime enforced in SQL, revocation by marking, and a read-mostly `validate`.
 *
 * Every method is safe to call concurrently. Writes run atomically with their audit entry
 * (inside the caller's transaction on `tx.sessions`).
 *
 * @example
 * ```ts
 * const { token } = await cb.sessions.create({ userId: user.id, ip: req.ip });
 * const found = await cb.sessions.validate(token); // { session, user } | undefined
 * ```
 */
export class SessionsRepository {
  readonly #ctx: RepositoryContext;

  /** @internal Use `cb.sessions`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
  }

  /**
   * Creates a session for an active user and returns its token once. Only the token's SHA-256 is
   * stored. Audited as `session.create`.
   *
   * Throws `ValidationError` for bad input or a `ttlMs` above `sessions.absoluteTimeoutMs`,
   * `NotFoundError` when the user does not exist or is disabled.
   *
   * @example
   * ```ts
   * const { token, session } = await cb.sessions.create({ userId, ip: '203.0.113.7', userAgent });
   * res.cookie('sid', token, { httpOnly: true, secure: true, sameSite: 'lax' });
   * ```
   */
  async create(input: SessionCreateInput): Promise<CreatedSession> {
    const parsed = parseInput(SessionCreateInputSchema, input, 'session');
    const absolute = this.#ctx.config.sessions.absoluteTimeoutMs;
    if (parsed.ttlMs !== undefined && parsed.ttlMs > absolute) {
      throw new ValidationError('invalid session at ttlMs: must not exceed sessions.absoluteTimeoutMs', [
        { path: ['ttlMs'], message: 'must not exceed sessions.absoluteTimeoutMs', code: 'too_big' },
      ]);
    }
    const token = generateSessionToken();
    const now = this.#ctx.now();
    const expiresAt = new Date(now.getTime() + (parsed.ttlMs ?? absolute));
    const session = await this.#ctx.actingFor(parsed.userId).atomic(async (ctx) => {
      const row = await ctx.db
        .insertInto('sessions')
        .columns([
          'user_id',
          'token_hash',
          'ip',
          'user_agent',
          'created_at',
          'last_seen_at',
          'expires_at',
          'authenticated_at',
          'mfa_at',
        ])
        .expression((eb) =>
          eb
            .selectFrom('users')
            .select([
              'id',
              eb.val(hashSessionToken(token)).as('token_hash'),
              eb.val(parsed.ip ?? null).as('ip'),
              eb.val(parsed.userAgent ?? null).as('user_agent'),
              eb.val(now).as('created_at'),
              eb.val(now).as('last_seen_at'),
              eb.val(expiresAt).as('expires_at'),
              eb.val(parsed.authenticatedAt ?? now).as('authenticated_at'),
              eb.val(parsed.mfaAt ?? null).as('mfa_at'),
            ])
            .where('id', '=', parsed.userId)
            .where('status', '=', 'active'),
        )
        .returning(SESSION_COLUMNS)
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('active user');
      await recordAudit(ctx, {
        action: 'session.create',
        resourceType: 'session',
        resourceId: row.id,
        subjectId: row.user_id,
        userId: ctx.actor?.userId ?? row.user_id,
        ...(parsed.ip === undefined ? {} : { ip: parsed.ip }),
        ...(parsed.userAgent === undefined ? {} : { userAgent: parsed.userAgent }),
      });
      return toSession(row);
    });
    return { token, session };
  }

  /**
   * Returns the session and its user when `token` names a session that is not revoked, not idle
   * for `sessions.idleTimeoutMs`, not past its absolute expiry, and whose user is active;
   * otherwise `undefined` (also for a malformed token). One indexed round trip; `last_seen_at`
   * is written by a second, conditional statement at most once per `sessions.touchIntervalMs`.
   *
   * Step-up (ASVS 7.5): with `maxAuthAgeMs` the user must have proved their password for this
   * session at most that long ago, with `requireMfa` they must have passed a second factor (within
   * `maxAuthAgeMs` when both are given); a session that does not meet them returns `undefined`
   * (fail-safe: validate without options to tell that apart from an ended session, and send the
   * user to re-authenticate, then `recordAuthentication`).
   *
   * Never throws for an unknown or malformed token; throws `ValidationError` when `token` is not
   * a string or the options are malformed, and a carebase error when the database fails.
   *
   * @example
   * ```ts
   * app.use(async (req, res, next) => {
   *   const found = await cb.sessions.validate(req.cookies.sid ?? '');
   *   if (found === undefined) return res.status(401).end();
   *   res.locals.user = found.user;
   *   next();
   * });
   * ```
   */
  async validate(token: string, options?: SessionValidateInput): Promise<ValidatedSession | undefined> {
    if (typeof token !== 'string') parseInput(z.string(), token, 'session token');
    const stepUp =
      options === undefined ? undefined : parseInput(SessionValidateInputSchema, options, 'validate options');
    if (!SESSION_TOKEN_PATTERN.test(token)) return undefined;
    const ctx = this.#ctx;
    const config = ctx.config.sessions;
    const statements = sessionStatements(ctx.runtime);
    const now = ctx.now();
    const nowMs = now.getTime();
    const parameters = [hashSessionToken(token), now, new Date(nowMs - config.idleTimeoutMs)] as const;
    let row: ValidateRow | undefined;
    if (ctx.config.rls) row = (await runPrepared<ValidateRow>(ctx, statements.validateRls, parameters))[0];
    else if (ctx.config.pooler === 'transaction' && !ctx.inTransaction) {
      // Behind a transaction pooler concurrent validations share round trips (see ValidateBatcher).
      row = await ctx.runtime.state(VALIDATE_BATCHER).validate(parameters);
    } else row = statements.validateRows(await runPrepared(ctx, statements.validate, parameters))[0];
    if (row === undefined) return undefined;
    const authenticatedAt = row.authenticated_at ?? row.created_at;
    if (stepUp !== undefined && !meetsStepUp(stepUp, authenticatedAt, row.mfa_at, nowMs)) return undefined;
    let lastSeenAt = row.last_seen_at;
    if (nowMs - lastSeenAt.getTime() >= config.touchIntervalMs && nowMs > lastSeenAt.getTime()) {
      const touch = [now, row.user_id, row.id, new Date(nowMs - config.touchIntervalMs)];
      // Under row-level security the token established the user: the touch acts for them.
      if (ctx.config.rls) {
        await ctx.actingFor(row.user_id).atomic((tx) => runPrepared(tx, statements.touch, touch));
      } else {
        await runPrepared(ctx, statements.touch, touch);
      }
      lastSeenAt = now;
    }
    return {
      session: {
        id: row.id,
        userId: row.user_id,
        ip: row.ip,
        userAgent: row.user_agent,
        createdAt: row.created_at,
        lastSeenAt,
        expiresAt: row.expires_at,
        revokedAt: null,
        revokeReason: null,
        authenticatedAt,
        mfaAt: row.mfa_at,
      },
      user: toUser({
        ...row,
        id: row.user_id,
        created_at: row.user_created_at,
        updated_at: row.user_updated_at,
      }),
    };
  }

  /**
   * Records a step-up on a live session: the user has just proved their password again
   * (`authenticatedAt` becomes now) and, with `mfaAt` (from `users.mfa.verify`), a second factor.
   * Call it after a successful `users.authenticate` / `users.mfa.verify` for the session's own
   * user. Returns the session, or `undefined` when it is not live. Audited as
   * `session.reauthenticate`.
   *
   * Throws `ValidationError` for a malformed id or options.
   *
   * @example
   * <!-- snippet-preamble: declare const session: import('carebase').Session; declare const code: string; declare const challenge: string; -->
   * ```ts
   * const mfa = await cb.users.mfa.verify({ challenge, code });
   * if (mfa.ok) await cb.sessions.recordAuthentication(session.id, { mfaAt: mfa.mfaAt });
   * ```
   */
  async recordAuthentication(
    sessionId: string,
    options: RecordAuthenticationInput = {},
  ): Promise<Session | undefined> {
    const id = parseInput(z.uuid(), sessionId, 'session id');
    const parsed = parseInput(RecordAuthenticationInputSchema, options, 'authentication');
    return this.#ctx.atomic(async (ctx) => {
      const now = ctx.now();
      const row = await ctx.db
        .updateTable('sessions')
        .set({ authenticated_at: now, ...(parsed.mfaAt === undefined ? {} : { mfa_at: parsed.mfaAt }) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(SESSION_COLUMNS)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      await recordAudit(ctx, {
        action: 'session.reauthenticate',
        resourceType: 'session',
        resourceId: row.id,
        subjectId: row.user_id,
        metadata: { mfa: parsed.mfaAt !== undefined },
      });
      return toSession(row);
    });
  }

  /**
   * Revokes one session, named by its id or by its token: sets `revoked_at` and
   * `revoke_reason` (the row is kept until purged). Returns `true` when this call revoked it,
   * `false` when it was unknown or already revoked. Idempotent. Audited as `session.revoke`.
   *
   * Throws `ValidationError` for a malformed reason.
   *
   * @example
   * ```ts
   * await cb.sessions.revoke(req.cookies.sid, 'logout');
   * ```
   */
  async revoke(sessionIdOrToken: string, reason?: string): Promise<boolean> {
    const key = parseInput(z.string().min(1).max(200), sessionIdOrToken, 'session id or token');
    const why = parseInput(RevokeReasonSchema.optional(), reason, 'revoke reason') ?? 'revoked';
    const byId = UUID_PATTERN.test(key);
    if (!byId && !SESSION_TOKEN_PATTERN.test(key)) return false;
    let scope = this.#ctx;
    if (!byId && scope.config.rls) {
      // Under row-level security a token names its session through the owner's lookup function
      // (the token is the credential); the revocation then acts for the session's user.
      const owner = await scope.runPrepared<{ user_id: string }>({
        sql: `select user_id from ${quoteIdentifier(scope.config.schema)}.session_lookup($1)`,
        parameters: [hashSessionToken(key)],
      });
      const userId = owner[0]?.user_id;
      if (userId === undefined) return false;
      scope = scope.actingFor(userId);
    }
    return scope.atomic(async (ctx) => {
      const now = ctx.now();
      const row = await ctx.db
        .updateTable('sessions')
        .set({ revoked_at: now, revoke_reason: why })
        .where(byId ? 'id' : 'token_hash', '=', byId ? key : hashSessionToken(key))
        .where('revoked_at', 'is', null)
        .returning(['id', 'user_id'])
        .executeTakeFirst();
      if (row === undefined) return false;
      await recordAudit(ctx, {
        action: 'session.revoke',
        resourceType: 'session',
        resourceId: row.id,
        subjectId: row.user_id,
        outcomeDetail: why,
      });
      return true;
    });
  }

  /**
   * Revokes every live session of a user, optionally keeping one. Returns how many were revoked.
   * Called by `users.changePassword` and `users.deactivate`. Audited as `session.revoke_all`.
   *
   * Throws `ValidationError` for a malformed id or reason.
   *
   * @example
   * <!-- snippet-preamble: declare const session: import('carebase').Session; -->
   * ```ts
   * // "Sign out everywhere else" after a password change:
   * await cb.sessions.revokeAllForUser(user.id, { exceptSessionId: session.id });
   * ```
   */
  async revokeAllForUser(userId: string, options: RevokeAllInput = {}): Promise<number> {
    const id = parseInput(z.uuid(), userId, 'user id');
    const parsed = parseInput(RevokeAllInputSchema, options, 'revoke options');
    const reason = parsed.reason ?? 'revoke_all';
    return this.#ctx.actingFor(id).atomic(async (ctx) => {
      const now = ctx.now();
      let query = ctx.db
        .updateTable('sessions')
        .set({ revoked_at: now, revoke_reason: reason })
        .where('user_id', '=', id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now);
      if (parsed.exceptSessionId !== undefined) query = query.where('id', '<>', parsed.exceptSessionId);
      const result = await query.executeTakeFirst();
      const count = Number(result.numUpdatedRows);
      await recordAudit(ctx, {
        action: 'session.revoke_all',
        resourceType: 'user',
        resourceId: id,
        subjectId: id,
        outcomeDetail: reason,
        metadata: { revoked: count },
      });
      return count;
    });
  }

  /**
   * Lists a user's sessions, newest first: live ones only unless `includeEnded`. Never returns
   * tokens or their hashes.
   *
   * Throws `ValidationError` for a malformed id, options or cursor.
   *
   * @example
   * ```ts
   * const { items } = await cb.sessions.listForUser(user.id);
   * ```
   */
  async listForUser(userId: string, options: SessionListInput = {}): Promise<SessionPage> {
    const id = parseInput(z.uuid(), userId, 'user id');
    const parsed = parseInput(SessionListInputSchema, options, 'session list options');
    const after = parsed.cursor === undefined ? undefined : decodeCursor(SESSIONS_CURSOR, parsed.cursor);
    const now = this.#ctx.now();
    return this.#ctx.actingFor(id).scoped(async (ctx) => {
      let query = ctx.db
        .selectFrom('sessions')
        .select([...SESSION_COLUMNS, sql.raw<string>(exactTimestamp('created_at')).as('sort_key')])
        .where('user_id', '=', id)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(parsed.limit + 1);
      if (!parsed.includeEnded) {
        query = query
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', now)
          .where('last_seen_at', '>', new Date(now.getTime() - ctx.config.sessions.idleTimeoutMs));
      }
      if (after !== undefined) {
        query = query.where(sql<boolean>`(created_at, id) < (${after.key}::timestamptz, ${after.id}::uuid)`);
      }
      return keysetPage(await query.execute(), parsed.limit, toSession, SESSIONS_CURSOR, (row) => ({
        key: row.sort_key,
        id: row.id,
      }));
    });
  }

  /**
   * Deletes sessions that ended (revoked, past their absolute expiry, or idle past the idle
   * timeout) before `olderThan`, and returns how many it deleted. Run it from a daily job.
   * Not audited per row (their creation and revocation already were).
   *
   * Throws `ValidationError` for bad options.
   *
   * @example
   * ```ts
   * const removed = await cb.sessions.purgeExpired({ olderThan: new Date(Date.now() - 7 * 864e5) });
   * ```
   */
  async purgeExpired(options: PurgeExpiredInput = {}): Promise<number> {
    const parsed = parseInput(PurgeExpiredInputSchema, options, 'purge options');
    const cutoff = parsed.olderThan ?? new Date(this.#ctx.now().getTime() - 30 * DAY_MS);
    const idleCutoff = new Date(cutoff.getTime() - this.#ctx.config.sessions.idleTimeoutMs);
    if (this.#ctx.config.rls) {
      // Across every user: through the owner's SECURITY DEFINER function (migration 0043).
      const rows = await this.#ctx.runPrepared<{ deleted: string }>({
        sql: `select ${quoteIdentifier(this.#ctx.config.schema)}.sessions_purge($1, $2) as deleted`,
        parameters: [cutoff, idleCutoff],
      });
      return Number(rows[0]?.deleted ?? 0);
    }
    const result = await this.#ctx.db
      .deleteFrom('sessions')
      .where((eb) =>
        eb.or([
          eb('expires_at', '<', cutoff),
          eb('revoked_at', '<', cutoff),
          eb('last_seen_at', '<', idleCutoff),
        ]),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** Whether a session's authentication times meet `validate`'s step-up options. */
function meetsStepUp(
  stepUp: SessionValidateInput,
  authenticatedAt: Date,
  mfaAt: Date | null,
  nowMs: number,
): boolean {
  const oldest = stepUp.maxAuthAgeMs === undefined ? undefined : nowMs - stepUp.maxAuthAgeMs;
  if (oldest !== undefined && authenticatedAt.getTime() < oldest) return false;
  if (stepUp.requireMfa === true) {
    if (mfaAt === null) return false;
    if (oldest !== undefined && mfaAt.getTime() < oldest) return false;
  }
  return true;
}
