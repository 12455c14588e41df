import type { ResolvedUsersOptions } from '../../config/users-options.js';
import { commonPasswords } from '../../security/common-passwords.js';
import { hashPassword, needsRehash, verifyPassword } from '../../security/password-hashes/index.js';
import {
  checkPasswordPolicy,
  type PasswordPolicyContext,
  type PasswordRules,
} from '../../security/password-policy.js';
import { PASSWORD_MAX_LENGTH } from './user-inputs.js';

/** Dummy hashes by cost, computed once per process: unknown logins are verified against them. */
const dummyHashes = new Map<number, Promise<string>>();

/**
 * Password hashing and policy for the users repository. Hashes are written in carebase's current
 * format (`$cb-bcrypt-sha256$v=1$`: NFC, HMAC-SHA-256 pre-hash, bcrypt; see
 * src/security/password-hashes/) through bcrypt's async API (libuv thread pool), so the event
 * loop never blocks; stored hashes of older formats keep verifying and are rehashed at the next
 * successful login. Hashes are only ever handled here and in the repository.
 */
export class PasswordHasher {
  readonly #cost: number;
  readonly #rules: PasswordRules;

  constructor(options: ResolvedUsersOptions) {
    this.#cost = options.bcryptCost;
    const policy = options.passwordPolicy;
    this.#rules = {
      minLength: options.passwordMinLength,
      maxLength: PASSWORD_MAX_LENGTH,
      commonPasswords: policy.commonPasswords,
      denyList: new Set(policy.denyList.map((entry) => entry.normalize('NFC').toLowerCase())),
      check: policy.check,
    };
    // Start computing the dummy hash (and reading the common-password list) now, so the first
    // unknown login or sign-up is not slower than the rest.
    this.#dummy().catch(() => {});
    if (policy.commonPasswords) commonPasswords(options.passwordMinLength).catch(() => {});
  }

  /** The configured cost. */
  get cost(): number {
    return this.#cost;
  }

  /**
   * Throws `ValidationError` at `field` when `password` breaks the policy (length, common or
   * denied password; with `context`, also the account-name rule and the host's check). The NUL
   * check is in `PasswordSchema`.
   */
  checkPolicy(password: string, field: string, context?: PasswordPolicyContext): Promise<void> {
    return checkPasswordPolicy(password, field, this.#rules, context);
  }

  /** Hashes `password` in the current format at the configured cost. */
  hash(password: string): Promise<string> {
    return hashPassword(password, this.#cost);
  }

  /** True when `password` matches `hash` (any known format). Never throws: returns false. */
  verify(password: string, hash: string): Promise<boolean> {
    return verifyPassword(password, hash);
  }

  /**
   * Spends the same time as {@link PasswordHasher.verify} against a real hash of the configured
   * cost, for logins whose account does not exist, is locked or disabled: their timing then
   * matches a wrong password's.
   */
  async verifyDummy(password: string): Promise<void> {
    await this.verify(password, await this.#dummy());
  }

  #dummy(): Promise<string> {
    let dummy = dummyHashes.get(this.#cost);
    if (dummy === undefined) {
      dummy = hashPassword('carebase-dummy-password-for-timing', this.#cost);
      dummyHashes.set(this.#cost, dummy);
    }
    return dummy;
  }

  /** True when `hash` is not in the current format or below the configured cost. */
  needsRehash(hash: string): boolean {
    return needsRehash(hash, this.#cost);
  }
}
