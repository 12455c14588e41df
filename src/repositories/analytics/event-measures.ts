import type { ResolvedAnalyticsOptions } from '../../config/analytics-options.js';
import { DEFAULT_REDACT_KEYS } from '../../config/audit-options.js';
import type { ValidationIssue } from '../../errors/errors.js';

/** Largest magnitude of a measure value (15 digits before the point). */
const MAX_MAGNITUDE = 1e15;
/** A decimal string: up to 15 digits before the point and 12 after, optional minus. */
const DECIMAL = /^-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,12})?$/;

/**
 * Checks an event's `measures` against `analytics.measures` and returns them as the JSON text
 * stored in `analytics_events.measures` (numbers written as given, so jsonb keeps their exact
 * decimal value), or pushes the issues.
 */
export function prepareMeasures(
  eventName: string,
  measures: Readonly<Record<string, unknown>>,
  options: ResolvedAnalyticsOptions,
  issues: ValidationIssue[],
): string | null {
  const declared =
    options.measures !== undefined && Object.hasOwn(options.measures, eventName)
      ? options.measures[eventName]
      : undefined;
  const parts: string[] = [];
  for (const name of Object.keys(measures)) {
    const kind = declared !== undefined && Object.hasOwn(declared, name) ? declared[name] : undefined;
    const path = ['measures', name];
    if (kind === undefined) {
      issues.push({
        path,
        message: 'is not a measure declared for this event in analytics.measures',
        code: 'not_allowed',
      });
      continue;
    }
    const value = measures[name];
    let text: string | undefined;
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < MAX_MAGNITUDE) {
      if (kind === 'integer' && !Number.isSafeInteger(value)) {
        issues.push({ path, message: 'must be an integer', code: 'invalid_type' });
        continue;
      }
      text = JSON.stringify(value);
    } else if (kind === 'decimal' && typeof value === 'string' && DECIMAL.test(value)) {
      text = value;
    } else {
      issues.push({
        path,
        message:
          kind === 'integer'
            ? 'must be an integer below 1e15 in magnitude'
            : 'must be a finite number or decimal string below 1e15 in magnitude',
        code: typeof value === 'number' ? 'too_big' : 'invalid_type',
      });
      continue;
    }
    parts.push(`${JSON.stringify(name)}:${text}`);
  }
  return parts.length === 0 ? null : `{${parts.join(',')}}`;
}

const loweredKeys = new WeakMap<ResolvedAnalyticsOptions, ReadonlySet<string>>();

/** The lower-cased secret keys of `options` (cached per resolved options object). */
function secretKeys(options: ResolvedAnalyticsOptions): ReadonlySet<string> {
  let keys = loweredKeys.get(options);
  if (keys === undefined) {
    keys = new Set((options.secretDataKeys ?? DEFAULT_REDACT_KEYS).map((key) => key.toLowerCase()));
    loweredKeys.set(options, keys);
  }
  return keys;
}

/**
 * Pushes an issue for every key of `data` (at any depth, inside arrays too) that is in
 * `analytics.secretDataKeys` (default: the audit redaction list), compared case-insensitively.
 */
export function checkSecretKeys(
  data: unknown,
  options: ResolvedAnalyticsOptions,
  issues: ValidationIssue[],
): void {
  const keys = secretKeys(options);
  if (keys.size === 0) return;
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (Array.isArray(node)) {
      for (let index = 0; index < node.length; index++) walk(node[index], [...path, index]);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, inner] of Object.entries(node)) {
        if (keys.has(key.toLowerCase())) {
          issues.push({
            path: [...path, key],
            message: 'is a secret key (analytics.secretDataKeys); secrets must not be stored in analytics',
            code: 'not_allowed',
          });
        } else {
          walk(inner, [...path, key]);
        }
      }
    }
  };
  walk(data, ['data']);
}
