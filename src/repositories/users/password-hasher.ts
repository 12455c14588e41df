import bcrypt from 'bcrypt';
import { ValidationError } from '../../errors/errors.js';

/** Dummy hashes by cost, computed once per process: unknown logins are verified against them. */
const dummyHashes = new Map<number, Promise<string>>();

/**
 * bcrypt hashing for the users repository, always through bcrypt's async API (libuv thread pool)
 * so the event loop never blocks. Hashes are only ever handled here and in the repository.
 */
export class PasswordHasher {
  readonly #cost: number;
  readonly #minLength: number;

  constructor(cost: number, minLength: number) {
    this.#cost = cost;
    this.#minLength = minLength;
    // Start computing the dummy hash now, so the first unknown login is not slower than the rest.
    this.#dummy().catch(() => {});
  }

  /** The configured cost. */
  get cost(): number {
    return this.#cost;
  }

  /**
   * Throws `ValidationError` at `field` when `password` is shorter than the configured minimum
   * (in characters). The byte limit and NUL check are in `PasswordSchema`.
   */
  checkPolicy(password: string, field: string): void {
    if ([...password].length < this.#minLength) {
      throw new ValidationError(
        `invalid password at ${field}: must be at least ${this.#minLength} characters`,
        [{ path: [field], message: `must be at least ${this.#minLength} characters`, code: 'too_small' }],
      );
    }
  }

  /** Hashes `password` at the configured cost. */
  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.#cost);
  }

  /** True when `password` matches `hash`. Never throws for a malformed hash: returns false. */
  async verify(password: string, hash: string): Promise<boolean> {
    try {
      return await bcrypt.compare(password, hash);
    } catch {
      return false;
    }
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
      dummy = bcrypt.hash('carebase-dummy-password-for-timing', this.#cost);
      dummyHashes.set(this.#cost, dummy);
    }
    return dummy;
  }

  /** True when `hash` was made at a lower cost than configured (or is not a bcrypt hash). */
  needsRehash(hash: string): boolean {
    try {
      return bcrypt.getRounds(hash) < this.#cost;
    } catch {
      return true;
    }
  }
}
