import { isIP } from 'node:net';
import { regexes } from 'zod/v4/core';
import { checkJson } from '../../validation/json.js';

/** The pattern of `action` in `AuditEntryInputSchema`. */
export const AUDIT_ACTION_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
/** zod's own `z.uuid()` pattern (any RFC 9562 version, nil and max). */
const UUID = regexes.uuid();

const OUTCOMES = new Set(['success', 'failure']);
const ACTOR_TYPES = new Set(['user', 'system', 'service']);
const SEVERITIES = new Set(['info', 'notice', 'warning', 'high', 'critical']);
const OPTIONAL_KEYS = new Set([
  'resourceId',
  'subjectId',
  'outcome',
  'outcomeDetail',
  'userId',
  'actorType',
  'ip',
  'userAgent',
  'requestId',
  'changes',
  'metadata',
  'severity',
  'purposeOfUse',
  'legalBasis',
  'recipient',
  'description',
  'breakGlass',
  'occurredAt',
]);

/** A string of `min` to `max` UTF-16 code units (zod's `.min()` / `.max()`). */
function text(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

/** The JSON of `changes` / `metadata` as `jsonObjectSchema()` returns it, or undefined to let zod refuse it. */
function jsonObject(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date)
    return undefined;
  const checked = checkJson(value);
  return 'message' in checked ? undefined : checked.value;
}

/**
 * `AuditEntryInputSchema.parse(input)` for an entry every field of which is plainly valid, without
 * zod (whose parse of a typical entry cost about a fifth of `audit.log`'s client time at one
 * writer); undefined for anything else, which `parseInput` then gives to the schema, so every
 * refusal and its wording stay zod's. It accepts nothing the schema refuses and returns what the
 * schema would (test/audit/quick-entry.test.ts holds the two equal over valid and invalid
 * entries). Fields given as `undefined` are left out, as the schema's optional fields allow.
 */
export function quickAuditEntry(input: unknown): Readonly<Record<string, unknown>> | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const proto: unknown = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key];
    if (value === undefined) {
      // An optional field left out; the schema refuses a required or unknown one.
      if (!OPTIONAL_KEYS.has(key)) return undefined;
      continue;
    }
    let ok: boolean;
    switch (key) {
      case 'action':
        ok = text(value, 0, 100) && AUDIT_ACTION_PATTERN.test(value);
        break;
      case 'resourceType':
        ok = text(value, 1, 100);
        break;
      case 'resourceId':
      case 'subjectId':
      case 'purposeOfUse':
        ok = text(value, 1, 200);
        break;
      case 'outcome':
        ok = OUTCOMES.has(value as string);
        break;
      case 'outcomeDetail':
        ok = text(value, 0, 1000);
        break;
      case 'userId':
        ok = value === null || (typeof value === 'string' && UUID.test(value));
        break;
      case 'actorType':
        ok = ACTOR_TYPES.has(value as string);
        break;
      case 'ip':
        ok = typeof value === 'string' && isIP(value) !== 0;
        break;
      case 'userAgent':
        ok = text(value, 0, 512);
        break;
      case 'requestId':
        ok = text(value, 1, 128);
        break;
      case 'severity':
        ok = SEVERITIES.has(value as string);
        break;
      case 'legalBasis':
      case 'recipient':
        ok = text(value, 1, 500);
        break;
      case 'description':
        ok = text(value, 1, 2000);
        break;
      case 'occurredAt':
        ok = value instanceof Date && !Number.isNaN(value.getTime());
        break;
      case 'changes':
      case 'metadata': {
        const json = jsonObject(value);
        if (json === undefined) return undefined;
        out[key] = json;
        continue;
      }
      default:
        // breakGlass and unknown keys: the schema decides.
        return undefined;
    }
    if (!ok) return undefined;
    out[key] = value;
  }
  if (out.action === undefined || out.resourceType === undefined) return undefined;
  return out;
}
