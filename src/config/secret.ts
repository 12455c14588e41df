import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Holds a sensitive string (a database password) so that no printed form reveals it:
 * `JSON.stringify`, `util.inspect` (even with `showHidden`), template strings and `String()` all
 * show `[redacted]`. The value lives in a `#private` field, which reflection cannot enumerate.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { createCarebase, Secret } from 'carebase';
 * const password = new Secret(readFileSync('/run/secrets/db_password', 'utf8').trim());
 * console.log({ password }); // { password: Secret([redacted]) }
 * const cb = createCarebase({ host: 'db.internal', user: 'app', password });
 * ```
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** Returns the clear value. Call it only where the value is handed to the driver or a child's environment. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
