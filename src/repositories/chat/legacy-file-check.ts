import type { ValidationIssue } from '../../errors/errors.js';
import type { ChatRole } from '../../schema/chat.js';
import { dateProblem } from '../../validation/dates.js';
import { textProblem } from '../../validation/text.js';

/**
 * The rule of `UsernameSchema` (users area, which this area may not import): 1-64 characters, no
 * '@', spaces or control characters (keep the two in step).
 */
export const LEGACY_USERNAME = /^[^@\s\p{C}]{1,64}$/u;

const ROLES = new Set(['user', 'assistant', 'system', 'tool']);
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** One message of the legacy file, checked and repaired. */
export interface LegacyMessage {
  readonly index: number;
  readonly role: ChatRole;
  /** The content to store (NUL characters escaped when `nul: 'escape'`). */
  readonly content: string;
  /** The content as the file has it (message ids derive from it, so reruns find it again). */
  readonly original: string;
  readonly createdAt: Date | undefined;
  /** What was repaired, for the message's metadata. */
  readonly repaired: { readonly nulEscaped: number } | undefined;
}

/** One username of the file with its messages. */
export interface LegacyUser {
  readonly name: string;
  readonly messages: readonly LegacyMessage[];
}

/** What {@link checkLegacyFile} found. */
export interface LegacyFileCheck {
  readonly users: readonly LegacyUser[];
  /** Every problem, up to the limit, each with its path (`['bob', 2414, 'content']`). */
  readonly problems: readonly ValidationIssue[];
  /** True when there were more problems than the limit. */
  readonly truncated: boolean;
}

/** Options that decide what counts as a problem. */
export interface LegacyCheckOptions {
  readonly maxMessageBytes: number;
  readonly nul: 'refuse' | 'escape';
  readonly caseCollisions: 'refuse' | 'merge';
  readonly maxProblems: number;
  /** Usernames must be valid carebase usernames (when users may be created from them). */
  readonly checkUsernames: boolean;
}

/** `bob[2414].content` from `['bob', 2414, 'content']`. */
export function legacyPath(path: readonly (string | number)[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

/**
 * A message's `timestamp`: an ISO 8601 string (without a zone it is read as UTC, as Python's
 * `datetime.utcnow().isoformat()` writes it), or a number of seconds (below 10^11) or milliseconds
 * since the epoch. Returns the date or a problem.
 */
function readTimestamp(value: unknown): Date | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'must be a finite number';
    const date = new Date(Math.abs(value) < 1e11 ? value * 1000 : value);
    return dateProblem(date) ?? date;
  }
  if (typeof value !== 'string') return 'must be an ISO 8601 string or a number (epoch seconds or ms)';
  const text = value.trim();
  const match =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (match === null) return 'is not an ISO 8601 date-time';
  const [, day, time, zone] = match;
  const fraction = time?.includes('.') ? (time.split('.')[1] ?? '') : '';
  const base = time === undefined ? `${day}T00:00:00` : `${day}T${time.split('.')[0]?.padEnd(8, ':00')}`;
  const ms = fraction === '' ? '' : `.${fraction.slice(0, 3).padEnd(3, '0')}`;
  const date = new Date(
    `${base}${ms}${zone === undefined ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`,
  );
  if (Number.isNaN(date.getTime())) return 'is not a valid date-time';
  return dateProblem(date) ?? date;
}

/**
 * Reads the whole legacy file `{ "<username>": [{ role, content, timestamp? }, ...] }` and collects
 * every problem (up to `maxProblems`) with its full path, before anything is written: not an
 * object, a bad username, usernames differing only in case (unless merged), a message that is not
 * an object, an unknown role, content that is not text, too large, holds NUL (unless escaped) or a
 * lone surrogate, a bad timestamp. Problems never quote content.
 */
export function checkLegacyFile(value: unknown, options: LegacyCheckOptions): LegacyFileCheck {
  const problems: ValidationIssue[] = [];
  let count = 0;
  const problem = (path: (string | number)[], message: string, code: string): void => {
    count++;
    if (problems.length < options.maxProblems) problems.push({ path, message, code });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problem([], 'must be an object of usernames', 'invalid_type');
    return { users: [], problems, truncated: false };
  }
  const users: LegacyUser[] = [];
  const byKey = new Map<string, string>();
  for (const [name, list] of Object.entries(value as Record<string, unknown>)) {
    if (RESERVED_KEYS.has(name)) {
      problem([name], 'is a reserved key (__proto__, constructor, prototype)', 'invalid_key');
      continue;
    }
    const nameProblem =
      textProblem(name) ??
      (name.length < 1 || name.length > 64 ? 'must be 1-64 characters' : undefined) ??
      (options.checkUsernames && !LEGACY_USERNAME.test(name)
        ? "is not a valid username (no '@', spaces or control characters)"
        : undefined);
    if (nameProblem !== undefined) problem([name], `username ${nameProblem}`, 'invalid_username');
    const key = name.toLowerCase();
    const other = byKey.get(key);
    if (other !== undefined && options.caseCollisions === 'refuse') {
      problem(
        [name],
        `differs only in case from ${other} (merge with caseCollisions: 'merge')`,
        'case_collision',
      );
    } else if (other === undefined) byKey.set(key, name);
    if (!Array.isArray(list)) {
      problem([name], 'must be an array of messages', 'invalid_type');
      continue;
    }
    const messages: LegacyMessage[] = [];
    list.forEach((entry: unknown, index: number) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        problem([name, index], 'must be an object with role and content', 'invalid_type');
        return;
      }
      const { role, content, timestamp } = entry as {
        role?: unknown;
        content?: unknown;
        timestamp?: unknown;
      };
      let ok = true;
      if (typeof role !== 'string' || !ROLES.has(role)) {
        problem([name, index, 'role'], 'must be one of user, assistant, system, tool', 'invalid_value');
        ok = false;
      }
      let stored = typeof content === 'string' ? content : '';
      let nulEscaped = 0;
      if (typeof content !== 'string') {
        problem([name, index, 'content'], 'must be a string', 'invalid_type');
        ok = false;
      } else {
        if (content.includes('\u0000')) {
          if (options.nul === 'escape') {
            nulEscaped = content.split('\u0000').length - 1;
            stored = content.replaceAll('\u0000', '\\u0000');
          } else {
            problem(
              [name, index, 'content'],
              "contains NUL characters (repair with nul: 'escape')",
              'invalid_text',
            );
            ok = false;
          }
        }
        const text = textProblem(stored);
        if (ok && text !== undefined) {
          problem([name, index, 'content'], text, 'invalid_text');
          ok = false;
        }
        const bytes = Buffer.byteLength(stored, 'utf8');
        if (bytes > options.maxMessageBytes) {
          problem(
            [name, index, 'content'],
            `too large: ${bytes} UTF-8 bytes, over chat.maxMessageBytes (${options.maxMessageBytes})`,
            'too_big',
          );
          ok = false;
        }
      }
      let createdAt: Date | undefined;
      if (timestamp !== undefined && timestamp !== null) {
        const read = readTimestamp(timestamp);
        if (typeof read === 'string') {
          problem([name, index, 'timestamp'], read, 'invalid_date');
          ok = false;
        } else createdAt = read;
      }
      if (!ok) return;
      messages.push({
        index,
        role: role as ChatRole,
        content: stored,
        original: content as string,
        createdAt,
        repaired: nulEscaped > 0 ? { nulEscaped } : undefined,
      });
    });
    users.push({ name, messages });
  }
  return { users, problems, truncated: count > problems.length };
}
