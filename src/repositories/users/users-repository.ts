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
import { type AuthenticationResult, authenticate } from './authenticate.js';
import { countFailedAttempt } from './failed-attempts.js';
import { PasswordHasher } from './password-hasher.js';
import { collectUserData, eraseUserData, type UserDataExport, type UserErasure } from './user-data.js';
import {
  type AuthenticateInput,
  type ChangePasswordInput,
  ChangePasswordInputSchema,
  EmailSchema,
  PASSWORD_MAX_BYTES,
  RoleSchema,
  type UserCreateInput,
  UserCreateInputSchema,
  UserIdSchema,
  type UserListInput,
  UserListInputSchema,
  UsernameSchema,
  type UserUpdateInput,
  UserUpdateInputSchema,
} from './user-inputs.js';
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

  /** @internal Use `cb.users`. */
  constructor(ctx: RepositoryContext) {
    this.#ctx = ctx;
    this.#hasher = new PasswordHasher(ctx.config.users.bcryptCost, ctx.config.users.passwordMinLength);
  }

  /**
   * Creates a user with a bcrypt hash of `password` and returns it (without the hash). Audited
   * as `user.create`.
   *
   * Throws `ValidationError` for bad input (a password over 72 UTF-8 bytes or under
   * `users.passwordMinLength`, a role outside `users.roles`), `ConflictError` with `field`
   * `username` or `email` when either is taken case-insensitively, also by a concurrent create.
   *
   * @example
   * ```ts
   * const user = await cb.users.create({ username: 'ana', email: 'ana@example.org', password, role: 'nurse' });
   * ```
   */
  async create(input: UserCreateInput): Promise<User> {
    const parsed = parseInput(UserCreateInputSchema, input, 'user');
    this.#checkRole(parsed.role, 'role');
    this.#hasher.checkPolicy(parsed.password, 'password');
    const passwordHash = await this.#hasher.hash(parsed.password);
    const now = this.#ctx.now();
    return this.#ctx.atomic(async (ctx) => {
      const row = await ctx.db
        .insertInto('users')
        .values({
          username: parsed.username,
          email: parsed.email,
          display_name: parsed.displayName ?? null,
          password_hash: passwordHash,
          role: parsed.role,
          password_changed_at: now,
          created_at: now,
          updated_at: now,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      await recordAudit(ctx, {
        action: 'user.create',
        resourceType: 'user',
        resourceId: row.id,
        subjectId: row.id,
        changes: { role: row.role },
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
          ...(parsed.email === undefined ? {} : { email: parsed.email }),
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
   * Changes a password. With `currentPassword` (self-service) it must match the stored one; an
   * admin reset omits it. Clears any lockout and revokes every other session of the user (all of
   * them unless `exceptSessionId`). Audited as `user.password_change`.
   *
   * Throws `ValidationError` for a bad new password or a wrong `currentPassword` (field
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
    this.#hasher.checkPolicy(parsed.newPassword, 'newPassword');
    const stored = await this.#ctx.db
      .selectFrom('users')
      .select(['password_hash', 'locked_until'])
      .where('id', '=', userId)
      .executeTakeFirst();
    if (stored === undefined) throw new NotFoundError('user');
    if (parsed.currentPassword !== undefined) {
      await this.#checkCurrentPassword(userId, parsed.currentPassword, stored);
    }
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
      await recordAudit(ctx, {
        action: 'user.password_change',
        resourceType: 'user',
        resourceId: userId,
        subjectId: userId,
        metadata: { selfService: parsed.currentPassword !== undefined },
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
    // Beyond 72 bytes bcrypt compares a prefix only: never accept such a password.
    const usable = Buffer.byteLength(currentPassword, 'utf8') <= PASSWORD_MAX_BYTES;
    const matches = usable
      ? await this.#hasher.verify(currentPassword, stored.password_hash)
      : await this.#hasher.verifyDummy(currentPassword).then(() => false);
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
    return authenticate(this.#ctx, this.#hasher, input);
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
    return this.#ctx.atomic(async (ctx) => {
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
    return this.#ctx.atomic(async (ctx) => {
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
