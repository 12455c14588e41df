import { ValidationError } from '../errors/errors.js';
import { commonPasswords } from './common-passwords.js';

/**
 * What a password is checked against besides itself: the account's own names (a password that
 * contains them is refused), passed to a host's custom check too.
 *
 * @example
 * ```ts
 * import type { PasswordPolicyContext } from 'carebase';
 * const mentionsWard = (password: string, context: PasswordPolicyContext) =>
 *   context.email?.endsWith('@icu.example.org') === true && password.toLowerCase().includes('icu');
 * ```
 */
export interface PasswordPolicyContext {
  readonly username?: string | null | undefined;
  readonly email?: string | undefined;
}

/**
 * A host's own password rule: returns why `password` is refused (shown to the user, so it must not
 * repeat the password), or `undefined` to accept it. May be async (e.g. a k-anonymity breach API).
 *
 * @example
 * ```ts
 * import { createCarebase, type PasswordCheck } from 'carebase';
 * const noWardNames: PasswordCheck = (password) =>
 *   /cardiology|oncology/i.test(password) ? 'must not contain a ward name' : undefined;
 * const withPolicy = createCarebase({ users: { passwordPolicy: { check: noWardNames } } });
 * ```
 */
export type PasswordCheck = (
  password: string,
  context: PasswordPolicyContext,
) => string | undefined | Promise<string | undefined>;

/** The resolved rules of {@link checkPasswordPolicy}. */
export interface PasswordRules {
  /** Shortest accepted password, in Unicode code points after NFC normalisation. */
  readonly minLength: number;
  /** Longest accepted password, in code points. */
  readonly maxLength: number;
  /** Refuse the shipped list of common and breached passwords. */
  readonly commonPasswords: boolean;
  /** The host's own refused passwords (compared case-insensitively, after NFC). */
  readonly denyList: ReadonlySet<string>;
  readonly check: PasswordCheck | undefined;
}

/** Why a password is refused: a ValidationError issue code and a message that never echoes it. */
export interface PasswordProblem {
  readonly code:
    | 'too_small'
    | 'too_big'
    | 'common_password'
    | 'denied_password'
    | 'contains_account_name'
    | 'password_policy';
  readonly message: string;
}

/**
 * Checks a new password against the rules (ASVS 5.0 V6.2): length in code points after NFC
 * normalisation (any Unicode, spaces included, no composition rules), not one of the common or
 * breached passwords, not on the host's deny list, not containing the username or the email's
 * local part, and the host's custom check. Returns the first problem, or `undefined`.
 * `context` may be omitted for a first check before the account is read; the context rules then
 * run in a second call.
 */
export async function passwordProblem(
  password: string,
  rules: PasswordRules,
  context?: PasswordPolicyContext,
): Promise<PasswordProblem | undefined> {
  const normalised = password.normalize('NFC');
  const length = [...normalised].length;
  if (length < rules.minLength) {
    return { code: 'too_small', message: `must be at least ${rules.minLength} characters` };
  }
  if (length > rules.maxLength) {
    return { code: 'too_big', message: `must be at most ${rules.maxLength} characters` };
  }
  const lower = normalised.toLowerCase();
  if (rules.denyList.has(lower)) {
    return { code: 'denied_password', message: 'is not allowed here: choose another password' };
  }
  if (rules.commonPasswords && (await commonPasswords(rules.minLength)).has(lower)) {
    return {
      code: 'common_password',
      message: 'is one of the most common or breached passwords: choose a less common one',
    };
  }
  if (context === undefined) return undefined;
  for (const name of accountNames(context)) {
    if (lower.includes(name)) {
      return { code: 'contains_account_name', message: 'must not contain the username or email' };
    }
  }
  if (rules.check !== undefined) {
    const reason = await rules.check(normalised, context);
    if (reason !== undefined) return { code: 'password_policy', message: reason };
  }
  return undefined;
}

/** Throws `ValidationError` at `field` for the first {@link passwordProblem}. */
export async function checkPasswordPolicy(
  password: string,
  field: string,
  rules: PasswordRules,
  context?: PasswordPolicyContext,
): Promise<void> {
  const problem = await passwordProblem(password, rules, context);
  if (problem === undefined) return;
  throw new ValidationError(`invalid password at ${field}: ${problem.message}`, [
    { path: [field], message: problem.message, code: problem.code },
  ]);
}

/** The account's names a password must not contain (four characters or more, lower-cased). */
function accountNames(context: PasswordPolicyContext): string[] {
  const names = [context.username ?? undefined, context.email, context.email?.split('@')[0]];
  return names
    .filter((name): name is string => name !== undefined && [...name].length >= 4)
    .map((name) => name.normalize('NFC').toLowerCase());
}
