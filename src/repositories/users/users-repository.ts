import { sql } from 'kysely';
import { NotFoundError, ValidationError } from '../../errors/errors.js';
import { PLACEHOLDER_UUID } from '../../pool/prepared-statements.js';
import { CURSOR_PATTERNS, type CursorSpec, decodeCursor, keysetPage } from '../../sql/cursor.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { SessionsRepository } from '../sessions/sessions-repository.js';
import { toUser, USER_COLUMNS, type User, type UserRow } from '../user.js';
import { voidAccountTokens } from './account-tokens.js';
import { type AuthenticationResult, authenticate } from './authenticate.js';
import { EmailVerificationApi } from './email-verification.js';
import { countFailedAttempt } from './failed-attempts.js';
import { countLegacyHashes, importedHashOrThrow, type LegacyPasswordHashCount } from './imported-password.js';
import { approveUser, rejectUser } from './lifecycle.js';
import { MfaApi } from './mfa.js';
import { PasswordHasher } from './password-hasher.js';
import { PasswordResetApi } from './password-reset.js';
import { RateLimiter } from './rate-limiter.js';
import { collectUserData, eraseUserData, type UserDataExport, type UserErasure } from './user-data.js';
import {
  type AuthenticateInput,
  type ChangePasswordInput,
  ChangePasswordInputSchema,
  EmailSchema,
  type RecordLoginInput,
  RecordLoginInputSchema,
  type RegisterOptions,
  RegisterOptionsSchema,
  type RejectInput,
  RejectInputSchema,
  RoleSchema,
  type UserCreateInput,
  UserCreateInputSchema,
  UserIdSchema,
  type UserListInput,
  UserListInputSchema,
  UsernameSchema,
  type UserRegisterInput,
  UserRegisterInputSchema,
  type UserUpdateInput,
  UserUpdateInputSchema,
} from './user-inputs.js';
import { verifyStoredPassword } from './verify-stored.js';

/**
 * A page of users.
 *
 * @example
 * ```ts
 * import type { UserPage } from 'carebase';
 * const page: UserPage = await cb.users.list({ limit: 50 });
 * ```
 */
export interface UserPage {
  readonly items: readonly User[];
  readonly nextCursor: string | undefined;
}

/** Cursors of `list()`: creation order. */
const USERS_CURSOR: CursorSpec = {
  kind: 'users',
  key: CURSOR_PATTERNS.timestamp,
  id: CURSOR_PATTERNS.uuid,
  legacyKey: CURSOR_PATTERNS.timestamptzText,
};

/**
 * User accounts: bcrypt passwords (cost 12 by default, rehashed upward at login), per-account
 * lockout counted atomically in the database, case-insensitive unique usernames and emails,
 * roles from a configured allow-list, data-subject export and erasure.
 *
 * Every method is safe to call concurrently; each write commits together with its audit entry
 * (inside the caller's transaction on `tx.users`). The password hash never leaves this class.
 *
 * @example
 * ```ts
 * const user = await cb.users.create({ username: 'ana', email: 'ana@example.org', password, role: 'nurse' });
 * const login = await cb.users.authenticate({ login: 'ANA', password, ip: req.ip });
 * ```
 */
export class UsersRepository {
  readonly #ctx: RepositoryContext;
  readonly #hasher: PasswordHasher;
  readonly #limiter: RateLimiter;
  /**
   * Password recovery by token: `request` / `issue` a reset token, `complete` it with the new
   * password. See {@link PasswordResetApi}.
   */
  readonly passwordReset: PasswordResetApi;
  /** Email verification by token. See {@link EmailVerificationApi}. */
  readonly emailVerification: EmailVerificationApi;
  /** Multi-factor authentication: TOTP and backup codes. See {@link MfaApi}. */
  readonly mfa: MfaApi;

  /** @internal Use `cb.users`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
    this.#hasher = new PasswordHasher(ctx.config.users);
    this.#limiter = new RateLimiter(ctx);
    this.passwordReset = new PasswordResetApi(ctx, this.#hasher, this.#limiter);
    this.emailVerification = new EmailVerificationApi(ctx, this.#limiter);
    this.mfa = new MfaApi(ctx, this.#limiter);
  }

  /**
   * Creates a user with a bcrypt hash of `password`, or with an existing `passwordHash` moved over
   * from another system, and returns it (without the hash). Audited as `user.create` (an imported
   * hash adds `importedHashAlgorithm` to the entry's metadata, never the hash).
   *
   * Imported hashes: bcrypt of any cost is kept (and rehashed upward at the next login, like any
   * bcrypt hash below `users.bcryptCost`). SHA-256 (unsalted or salted hex), PBKDF2 (Werkzeug,
   * Django, passlib) and argon2 (PHC string) are legacy: the next successful login verifies the
   * password against them once and replaces them with bcrypt in the same transaction, so no legacy
   * hash survives a successful login ({@link UsersRepository.legacyPasswordHashes} counts those left).
   *
   * Throws `ValidationError` for bad input (a password over 72 UTF-8 bytes or under
   * `users.passwordMinLength`, both or neither of `password` and `passwordHash`, a malformed hash
   * at `passwordHash.hash`, a role outside `users.roles`), `ConflictError` with `field`
   * `username` or `email` when either is taken case-insensitively, also by a concurrent create.
   *
   * @example
   * ```ts
   * const user = await cb.users.create({ username: 'ana', email: 'ana@example.org', password, role: 'nurse' });
   * // Moving an account over with the SHA-256 hex the old app stored:
   * await cb.users.create({
   *   username: 'bob',
   *   email: 'bob@example.org',
   *   role: 'nurse',
   *   passwordHash: { algorithm: 'sha256', hash: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8' },
   * });
   * ```
   */
  async create(input: UserCreateInput): Promise<User> {
    const parsed = parseInput(UserCreateInputSchema, input, 'user');
    return this.#insert({ ...parsed, status: 'active' }, 'user.create');
  }

  /**
   * Self-service registration: creates a `pending` account that cannot log in (authenticate
   * answers `pending_approval` to the right password only) until an admin calls `approve`, or an
   * `active` one with `{ autoApprove: true }` (default `users.registration.autoApprove`). The role
   * defaults to `users.registration.defaultRole`. Audited as `user.register`.
   *
   * Throws like `create`: `ValidationError` for bad input or a password the policy refuses,
   * `ConflictError` (field `username` or `email`) when taken.
   *
   * @example
   * ```ts
   * const user = await cb.users.register({ email: 'ana@example.org', password });
   * // user.status === 'pending' until an admin approves:
   * await cb.withActor({ userId: req.user.id }).users.approve(user.id);
   * ```
   */
  async register(input: UserRegisterInput, options: RegisterOptions = {}): Promise<User> {
    const parsed = parseInput(UserRegisterInputSchema, input, 'registration');
    const opts = parseInput(RegisterOptionsSchema, options, 'registration options');
    const config = this.#ctx.config.users.registration;
    const autoApprove = opts.autoApprove ?? config.autoApprove;
    return this.#insert(
      { ...parsed, role: parsed.role ?? config.defaultRole, status: autoApprove ? 'active' : 'pending' },
      'user.register',
    );
  }

  /**
   * Approves a registration: a `pending` (or rejected) account becomes `active`. An admin action:
   * call it on `cb.withActor({ userId: admin.id })` so the audit entry (`user.approve`) names the
   * admin. Idempotent for an active account.
   *
   * Throws `NotFoundError` for an unknown user, `ConflictError` (field `status`) for an account
   * that was deactivated (use `reactivate`), `ValidationError` for a malformed id.
   *
   * @example
   * <!-- snippet-preamble: declare const admin: import('carebase').User; declare const id: string; -->
   * ```ts
   * // PATCH /api/users/:id/approve
   * await cb.withActor({ userId: admin.id, ip: req.ip }).users.approve(id);
   * ```
   */
  async approve(id: string): Promise<User> {
    return approveUser(this.#ctx, parseInput(UserIdSchema, id, 'user id'));
  }

  /**
   * Rejects a `pending` registration: the account becomes `disabled` with `rejectedAt` set, and
   * authenticate answers `rejected` to the right password only. The reason is kept for admins and
   * audited (`user.reject`). The row stays (erase it with `erase` if it must go).
   *
   * Throws `NotFoundError` for an unknown user, `ConflictError` (field `status`) when the account
   * is not pending, `ValidationError` for bad input.
   *
   * @example
   * <!-- snippet-preamble: declare const admin: import('carebase').User; declare const id: string; -->
   * ```ts
   * await cb.withActor({ userId: admin.id }).users.reject(id, { reason: 'not on the staff roster' });
   * ```
   */
  async reject(id: string, options: RejectInput = {}): Promise<User> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    const parsed = parseInput(RejectInputSchema, options, 'reject options');
    return rejectUser(this.#ctx, userId, parsed.reason);
  }

  async #insert(
    parsed: {
      readonly username?: string | undefined;
      readonly email: string;
      readonly password?: string | undefined;
      readonly passwordHash?: Parameters<typeof importedHashOrThrow>[0] | undefined;
      readonly role: string;
      readonly displayName?: string | undefined;
      readonly status: 'pending' | 'active';
    },
    action: 'user.create' | 'user.register',
  ): Promise<User> {
    this.#checkRole(parsed.role, 'role');
    let passwordHash: string;
    if (parsed.passwordHash !== undefined) {
      passwordHash = importedHashOrThrow(parsed.passwordHash, ['passwordHash']);
    } else {
      const password = parsed.password ?? '';
      await this.#hasher.checkPolicy(password, 'password', {
        username: parsed.username,
        email: parsed.email,
      });
      passwordHash = await this.#hasher.hash(password);
    }
    const now = this.#ctx.now();
    return this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .insertInto('users')
        .values({
          username: parsed.username ?? null,
          email: parsed.email,
          display_name: parsed.displayName ?? null,
          password_hash: passwordHash,
          role: parsed.role,
          status: parsed.status,
          password_changed_at: now,
          created_at: now,
          updated_at: now,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      await recordAudit(ctx, {
        action,
        resourceType: 'user',
        resourceId: row.id,
        subjectId: row.id,
        changes: { role: row.role, status: row.status },
        ...(parsed.passwordHash === undefined
          ? {}
          : { metadata: { importedHashAlgorithm: parsed.passwordHash.algorithm } }),
      });
      return toUser(row);
    });
  }

  /**
   * Finds a user by id. Throws `ValidationError` when `id` is not a UUID.
   *
   * @example
   * ```ts
   * const user = await cb.users.findById(id); // User | undefined
   * ```
   */
  async findById(id: string): Promise<User | undefined> {
    const parsed = parseInput(UserIdSchema, id, 'user id');
    const ctx = this.#ctx;
    const byId = ctx.runtime.prepared.compiled(
      'users.find-by-id',
      () =>
        ctx.runtime.db.selectFrom('users').select(USER_COLUMNS).where('id', '=', PLACEHOLDER_UUID).compile(),
      1,
    );
    const [row] = await ctx.runPrepared<UserRow>({ sql: byId.sql, parameters: [parsed] });
    return row === undefined ? undefined : toUser(row);
  }

  /**
   * Finds a user by id, or throws `NotFoundError`. Throws `ValidationError` for a malformed id.
   *
   * @example
   * ```ts
   * const user = await cb.users.getById(id);
   * ```
   */
  async getById(id: string): Promise<User> {
    const user = await this.findById(id);
    if (user === undefined) throw new NotFoundError('user');
    return user;
  }

  /**
   * Finds a user by username, case-insensitively. Throws `ValidationError` for a malformed name.
   *
   * @example
   * ```ts
   * const user = await cb.users.findByUsername('Ana'); // finds 'ana'
   * ```
   */
  async findByUsername(username: string): Promise<User | undefined> {
    return this.#findBy('username', parseInput(UsernameSchema, username, 'username'));
  }

  /**
   * Finds a user by email, case-insensitively. Throws `ValidationError` for a malformed email.
   *
   * @example
   * ```ts
   * const user = await cb.users.findByEmail('ANA@example.org');
   * ```
   */
  async findByEmail(email: string): Promise<User | undefined> {
    return this.#findBy('email', parseInput(EmailSchema, email, 'email'));
  }

  /**
   * Lists users in creation order, filtered by role, status and a case-insensitive substring of
   * username, email or display name; keyset-paginated (pass `nextCursor` back as `cursor`).
   *
   * Throws `ValidationError` for bad options or a cursor not returned by this method.
   *
   * @example
   * ```ts
   * let page = await cb.users.list({ role: 'nurse', limit: 100 });
   * while (page.nextCursor) page = await cb.users.list({ role: 'nurse', limit: 100, cursor: page.nextCursor });
   * ```
   */
  async list(options: UserListInput = {}): Promise<UserPage> {
    const parsed = parseInput(UserListInputSchema, options, 'user list options');
    const after = parsed.cursor === undefined ? undefined : decodeCursor(USERS_CURSOR, parsed.cursor);
    let query = this.#ctx.db
      .selectFrom('users')
      .select([...USER_COLUMNS, sql.raw<string>(exactTimestamp('created_at')).as('sort_key')])
      .orderBy('created_at')
      .orderBy('id')
      .limit(parsed.limit + 1);
    if (parsed.role !== undefined) query = query.where('role', '=', parsed.role);
    if (parsed.status !== undefined) query = query.where('status', '=', parsed.status);
    if (parsed.search !== undefined) {
      const pattern = `%${parsed.search.replace(/[\\%_]/g, '\\$&')}%`;
      query = query.where((eb) =>
        eb.or([
          eb('username', 'ilike', pattern),
          eb('email', 'ilike', pattern),
          eb('display_name', 'ilike', pattern),
        ]),
      );
    }
    if (after !== undefined) {
      query = query.where(sql<boolean>`(created_at, id) > (${after.key}::timestamptz, ${after.id}::uuid)`);
    }
    return keysetPage(await query.execute(), parsed.limit, toUser, USERS_CURSOR, (row) => ({
      key: row.sort_key,
      id: row.id,
    }));
  }

  /**
   * Updates profile fields (username, email, display name) and returns the user. Audited as
   * `user.update` with the changed field names (never their values).
   *
   * Throws `ValidationError` for a bad patch, `NotFoundError` for an unknown user,
   * `ConflictError` when the new username or email is taken.
   *
   * @example
   * ```ts
   * await cb.users.update(id, { displayName: 'Ana Souza, RN' });
   * ```
   */
  async update(id: string, patch: UserUpdateInput): Promise<User> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    const parsed = parseInput(UserUpdateInputSchema, patch, 'user patch');
    const fields = Object.keys(parsed).filter((key) => parsed[key as keyof typeof parsed] !== undefined);
    return this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .updateTable('users')
        .set({
          ...(parsed.username === undefined ? {} : { username: parsed.username }),
          // A new address is unverified until proven (users.emailVerification).
          ...(parsed.email === undefined ? {} : { email: parsed.email, email_verified_at: null }),
          ...(parsed.displayName === undefined ? {} : { display_name: parsed.displayName }),
        })
        .where('id', '=', userId)
        .returning(USER_COLUMNS)
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('user');
      await recordAudit(ctx, {
        action: 'user.update',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
        changes: { fields },
      });
      return toUser(row);
    });
  }

  /**
   * Sets a user's role (one of `users.roles`) and returns the user. Audited as
   * `user.role_change` with the old and new role.
   *
   * Throws `ValidationError` for a role outside the allow-list, `NotFoundError` for an unknown user.
   *
   * @example
   * <!-- snippet-preamble: declare const admin: import('carebase').User; -->
   * ```ts
   * await cb.withActor({ userId: admin.id }).users.setRole(id, 'clinician');
   * ```
   */
  async setRole(id: string, role: string): Promise<User> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    const newRole = parseInput(RoleSchema, role, 'role');
    this.#checkRole(newRole, 'role');
    return this.#ctx.atomic(async (ctx) => {
      const before = await ctx.db
        .selectFrom('users')
        .select('role')
        .where('id', '=', userId)
        .forUpdate()
        .executeTakeFirst();
      if (before === undefined) throw new NotFoundError('user');
      const row = await ctx.db
        .updateTable('users')
        .set({ role: newRole })
        .where('id', '=', userId)
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      await recordAudit(ctx, {
        action: 'user.role_change',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
        changes: { role: { from: before.role, to: newRole } },
      });
      return toUser(row);
    });
  }

  /**
   * Disables an account: it can no longer log in, and every live session is revoked in the same
   * transaction, so its sessions stop validating at once. Audited as `user.deactivate`.
   * Idempotent. Throws `NotFoundError` for an unknown user.
   *
   * @example
   * ```ts
   * await cb.users.deactivate(id);
   * ```
   */
  async deactivate(id: string): Promise<User> {
    return this.#setStatus(id, 'disabled');
  }

  /**
   * Re-enables a disabled account (and clears any lockout). Audited as `user.reactivate`.
   * Idempotent. Throws `NotFoundError` for an unknown user.
   *
   * @example
   * ```ts
   * await cb.users.reactivate(id);
   * ```
   */
  async reactivate(id: string): Promise<User> {
    return this.#setStatus(id, 'active');
  }

  /**
   * The user's own password change: `currentPassword` is required and must match the stored one.
   * Clears any lockout and revokes every other session of the user (all of them unless
   * `exceptSessionId`). Audited as `user.password_change`. An admin never sets a user's password
   * (ASVS 6.4.6): use `users.passwordReset.issue(id, { reason })`, which issues a reset token for
   * the user and revokes their sessions.
   *
   * Throws `ValidationError` for a missing `currentPassword`, a bad new password or a wrong
   * `currentPassword` (field
   * `currentPassword`, code `invalid_current_password`), `NotFoundError` for an unknown user. A
   * wrong `currentPassword` counts toward the login lockout (`users.lockout`) and is audited; while
   * the account is locked, a self-service change is refused whatever is typed (code
   * `account_locked`).
   *
   * @example
   * <!-- snippet-preamble: declare const currentPassword: string, newPassword: string; declare const session: import('carebase').Session; -->
   * ```ts
   * await cb.users.changePassword(user.id, { currentPassword, newPassword, exceptSessionId: session.id });
   * ```
   */
  async changePassword(id: string, input: ChangePasswordInput): Promise<void> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    const parsed = parseInput(ChangePasswordInputSchema, input, 'password change');
    // The rules that need no account first (before any SQL), the account-name rules after.
    await this.#hasher.checkPolicy(parsed.newPassword, 'newPassword');
    const stored = await this.#ctx.db
      .selectFrom('users')
      .select(['password_hash', 'locked_until', 'username', 'email'])
      .where('id', '=', userId)
      .executeTakeFirst();
    if (stored === undefined) throw new NotFoundError('user');
    await this.#hasher.checkPolicy(parsed.newPassword, 'newPassword', stored);
    await this.#checkCurrentPassword(userId, parsed.currentPassword, stored);
    const passwordHash = await this.#hasher.hash(parsed.newPassword);
    const now = this.#ctx.now();
    await this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .updateTable('users')
        .set({
          password_hash: passwordHash,
          password_changed_at: now,
          failed_login_count: 0,
          locked_until: null,
        })
        .where('id', '=', userId)
        .returning('id')
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('user');
      // A pending reset link must not outlive the password it was meant to replace.
      await voidAccountTokens(ctx, userId, 'password_reset');
      await recordAudit(ctx, {
        action: 'user.password_change',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
        metadata: { selfService: true },
      });
      await new SessionsRepository(ctx).revokeAllForUser(userId, {
        reason: 'password_change',
        ...(parsed.exceptSessionId === undefined ? {} : { exceptSessionId: parsed.exceptSessionId }),
      });
    });
  }

  /**
   * A self-service password change proves the current password under the login lockout: a locked
   * account is refused whatever is typed, and a wrong password counts toward
   * `users.lockout.maxFailures` like a failed login (so guessing here is no way around it).
   */
  async #checkCurrentPassword(
    userId: string,
    currentPassword: string,
    stored: { readonly password_hash: string; readonly locked_until: Date | null },
  ): Promise<void> {
    const now = this.#ctx.now();
    const failure = {
      action: 'user.password_change',
      resourceType: 'user',
      resourceId: userId,
      subjectId: userId,
      outcome: 'failure',
      outcomeDetail: 'invalid_current_password',
    } as const;
    if (stored.locked_until !== null && stored.locked_until > now) {
      await this.#hasher.verifyDummy(currentPassword);
      await this.#ctx.atomic((ctx) => recordAudit(ctx, { ...failure, outcomeDetail: 'locked' }));
      throw new ValidationError('invalid password change at currentPassword: the account is locked', [
        {
          path: ['currentPassword'],
          message: 'the account is locked after repeated failures',
          code: 'account_locked',
        },
      ]);
    }
    // (A plain bcrypt hash never matches beyond 72 bytes: see src/security/password-hashes/.)
    const matches = (await verifyStoredPassword(this.#hasher, currentPassword, stored.password_hash)).matches;
    if (matches) return;
    const { locked } = await countFailedAttempt(this.#ctx, userId, now, failure);
    throw new ValidationError(
      `invalid password change at currentPassword: ${locked ? 'the account is locked' : 'does not match'}`,
      [
        locked
          ? {
              path: ['currentPassword'],
              message: 'the account is locked after repeated failures',
              code: 'account_locked',
            }
          : { path: ['currentPassword'], message: 'does not match', code: 'invalid_current_password' },
      ],
    );
  }

  /**
   * Verifies a login by username or email (case-insensitive; a login containing '@' is an
   * email). Updates `last_login_at` and rehashes a password stored below the configured cost on
   * success. Failures are counted atomically in the database; `users.lockout.maxFailures`
   * consecutive ones lock the account for `users.lockout.durationMs`, also under concurrent
   * attempts. Unknown logins take as long as wrong passwords. Every success, failure and lockout
   * is audited (`user.login`, `user.lockout`) with the IP and user agent.
   *
   * Returns `{ ok: false, reason }` for failed logins (never throws for them): show one generic
   * message for every reason. Hostile field contents (NUL or lone surrogates in `login`,
   * `password` or `userAgent`, a malformed `ip`, over-long values) fail like a wrong password:
   * counted toward the lockout and audited with the refused fields' names, never their values.
   * Throws `ValidationError` only for a malformed call (not an object, missing or non-string
   * `login`/`password`, unknown keys).
   *
   * @example
   * ```ts
   * app.post('/login', async (req, res) => {
   *   const { login, password } = req.body;
   *   const result = await cb.users.authenticate({ login, password, ip: req.ip, userAgent: req.get('user-agent') });
   *   if (!result.ok) return res.status(401).json({ error: 'invalid login' });
   *   res.json({ user: result.user });
   * });
   * ```
   */
  async authenticate(input: AuthenticateInput): Promise<AuthenticationResult> {
    return authenticate(this.#ctx, this.#hasher, this.#limiter, input);
  }

  /**
   * Records a login that happened elsewhere (single sign-on, a host's own authentication): sets
   * `lastLoginAt` and writes a `user.login` audit entry (metadata `method`, default `external`)
   * with the IP and user agent, in one transaction. Does not touch the password lockout. Returns
   * the user: check `status` before letting a disabled account in.
   *
   * Throws `ValidationError` for a malformed id or input, `NotFoundError` for an unknown user.
   *
   * @example
   * ```ts
   * const user = await cb.users.recordLogin(id, { ip: req.ip, userAgent: req.get('user-agent'), method: 'oidc' });
   * if (user.status !== 'active') res.status(403).end();
   * ```
   */
  async recordLogin(id: string, input: RecordLoginInput = {}): Promise<User> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    const parsed = parseInput(RecordLoginInputSchema, input, 'login record');
    const now = this.#ctx.now();
    return this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .updateTable('users')
        .set({ last_login_at: now })
        .where('id', '=', userId)
        .returning(USER_COLUMNS)
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('user');
      await recordAudit(ctx, {
        action: 'user.login',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
        userId,
        actorType: 'user',
        metadata: { method: parsed.method ?? 'external' },
        ...(parsed.ip === undefined ? {} : { ip: parsed.ip }),
        ...(parsed.userAgent === undefined ? {} : { userAgent: parsed.userAgent }),
      });
      return toUser(row);
    });
  }

  /**
   * Counts the accounts whose password is still in a legacy format (imported SHA-256, PBKDF2 or
   * argon2, not yet replaced by bcrypt at a login). `carebase doctor` reports the same count.
   *
   * @example
   * ```ts
   * const { total, byScheme } = await cb.users.legacyPasswordHashes();
   * console.log(`${total} legacy hashes left (${byScheme.sha256} SHA-256)`);
   * ```
   */
  async legacyPasswordHashes(): Promise<LegacyPasswordHashCount> {
    return countLegacyHashes(this.#ctx);
  }

  /**
   * Clears a lockout and the failure count. Audited as `user.unlock`. Idempotent.
   * Throws `NotFoundError` for an unknown user.
   *
   * @example
   * <!-- snippet-preamble: declare const admin: import('carebase').User; -->
   * ```ts
   * await cb.withActor({ userId: admin.id, ip: req.ip }).users.unlock(id);
   * ```
   */
  async unlock(id: string): Promise<User> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    return this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .updateTable('users')
        .set({ failed_login_count: 0, locked_until: null })
        .where('id', '=', userId)
        .returning(USER_COLUMNS)
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('user');
      await recordAudit(ctx, {
        action: 'user.unlock',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
      });
      return toUser(row);
    });
  }

  /**
   * True when `user` is active and its role has `permission` in `users.permissions`. Pure: no
   * database access.
   *
   * @example
   * ```ts
   * app.post('/charts', async (req, res) => {
   *   if (!cb.users.can(res.locals.user, 'chart:write')) return res.status(403).end();
   *   // ...
   * });
   * ```
   */
  can(user: Pick<User, 'role' | 'status'>, permission: string): boolean {
    if (user.status !== 'active') return false;
    return this.#ctx.config.users.permissions[user.role]?.includes(permission) ?? false;
  }

  /**
   * Returns everything carebase holds about a user as one JSON-serializable document: profile,
   * sessions (without tokens or hashes) and audit entries by or about them. Audited as
   * `user.export`. Throws `NotFoundError` for an unknown user.
   *
   * @example
   * ```ts
   * res.json(await cb.users.exportData(id));
   * ```
   */
  async exportData(id: string): Promise<UserDataExport> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    return this.#ctx.actingFor(userId).atomic(async (ctx) => {
      const row = await ctx.db
        .selectFrom('users')
        .select(USER_COLUMNS)
        .where('id', '=', userId)
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('user');
      const data = await collectUserData(ctx, toUser(row));
      await recordAudit(ctx, {
        action: 'user.export',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
      });
      return data;
    });
  }

  /**
   * Erases a user: deletes the account and its sessions in one transaction. Audit entries stay
   * (append-only) with only the user's uuid, which no longer resolves to a name or email.
   * The erasure itself is audited as `user.erase`. Throws `NotFoundError` for an unknown user.
   *
   * @example
   * <!-- snippet-preamble: declare const admin: import('carebase').User; -->
   * ```ts
   * const removed = await cb.withActor({ userId: admin.id }).users.erase(id);
   * ```
   */
  async erase(id: string): Promise<UserErasure> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    return this.#ctx.actingFor(userId).atomic(async (ctx) => {
      const erased = await eraseUserData(ctx, userId);
      if (erased === undefined) throw new NotFoundError('user');
      return erased;
    });
  }

  async #findBy(column: 'username' | 'email', value: string): Promise<User | undefined> {
    const row = await this.#ctx.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where(sql`lower(${sql.ref(column)})`, '=', sql<string>`lower(${value})`)
      .executeTakeFirst();
    return row === undefined ? undefined : toUser(row);
  }

  #setStatus(id: string, status: 'active' | 'disabled'): Promise<User> {
    const userId = parseInput(UserIdSchema, id, 'user id');
    return this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .updateTable('users')
        .set(status === 'active' ? { status, failed_login_count: 0, locked_until: null } : { status })
        .where('id', '=', userId)
        .returning(USER_COLUMNS)
        .executeTakeFirst();
      if (row === undefined) throw new NotFoundError('user');
      await recordAudit(ctx, {
        action: status === 'active' ? 'user.reactivate' : 'user.deactivate',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
      });
      if (status === 'disabled') {
        await new SessionsRepository(ctx).revokeAllForUser(userId, { reason: 'user_deactivated' });
      }
      return toUser(row);
    });
  }

  #checkRole(role: string, field: string): void {
    if (!this.#ctx.config.users.roles.includes(role)) {
      throw new ValidationError(`invalid ${field}: not one of the configured roles`, [
        { path: [field], message: 'not one of the configured roles (users.roles)', code: 'invalid_role' },
      ]);
    }
  }
}
