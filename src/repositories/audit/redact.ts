import type { JsonValue } from '../../schema/audit.js';

/** The value stored in place of a redacted key's value. */
export const REDACTED = '[redacted]';

/**
 * Returns a JSON copy of `value` in which every key listed in `keys` (compared case-insensitively,
 * at any depth, inside arrays too) has its value replaced by `[redacted]`. Dates become ISO
 * strings; `undefined` and functions become `null`. Pure; never mutates `value`.
 *
 * @example
 * ```ts
 * redactJson({ user: { Password: 'x' } }, ['password']); // { user: { Password: '[redacted]' } }
 * ```
 */
export function redactJson(value: Record<string, unknown>, keys: readonly string[]): JsonValue {
  const lowered = new Set(keys.map((key) => key.toLowerCase()));
  const walk = (node: unknown): JsonValue => {
    if (Array.isArray(node)) return node.map(walk);
    if (node instanceof Date) return node.toISOString();
    if (node !== null && typeof node === 'object') {
      const out: { [key: string]: JsonValue } = {};
      for (const [key, inner] of Object.entries(node)) {
        out[key] = lowered.has(key.toLowerCase()) ? REDACTED : walk(inner);
      }
      return out;
    }
    if (typeof node === 'bigint') return node.toString();
    if (typeof node === 'number') return Number.isFinite(node) ? node : null;
    if (typeof node === 'string' || typeof node === 'boolean') return node;
    return null;
  };
  return walk(value);
}
