import { z } from 'zod';
import type { JsonValue } from '../schema/audit.js';
import { dateProblem } from './dates.js';
import { textProblem } from './text.js';

/**
 * Limits of a JSON value carebase stores (chat metadata, audit `changes` and `metadata`, analytics
 * `data`).
 *
 * @example
 * ```ts
 * import { type JsonLimits, jsonObjectSchema } from 'carebase';
 * const limits: JsonLimits = { maxDepth: 8, maxBytes: 4096 };
 * const Metadata = jsonObjectSchema(limits);
 * Metadata.safeParse({ a: { b: 1 } }).success; // true
 * ```
 */
export interface JsonLimits {
  /** Nesting levels of objects and arrays, the outermost counting as 1. @default 32 */
  readonly maxDepth?: number;
  /**
   * Size of the JSON text in UTF-8 bytes, counting each string without its escapes (so a value
   * that passes may serialize slightly larger). @default 262144 (256 KiB)
   */
  readonly maxBytes?: number;
}

/**
 * The default nesting limit of stored JSON values.
 *
 * @example
 * ```ts
 * import { JSON_MAX_DEPTH, jsonObjectSchema } from 'carebase';
 * const Shallow = jsonObjectSchema({ maxDepth: Math.min(8, JSON_MAX_DEPTH) });
 * ```
 */
export const JSON_MAX_DEPTH = 32;
/**
 * The default size limit of stored JSON values, in bytes.
 *
 * @example
 * ```ts
 * import { JSON_MAX_BYTES } from 'carebase';
 * // Refuse an over-large metadata field at the edge of a request handler.
 * const tooLarge = Buffer.byteLength(JSON.stringify(req.body.metadata ?? {})) > JSON_MAX_BYTES;
 * ```
 */
export const JSON_MAX_BYTES = 262_144;

/**
 * A refused JSON value: where (path inside the value) and why, never the value itself.
 *
 * @example
 * ```ts
 * import { checkJson, type JsonProblem } from 'carebase';
 * const result = checkJson({ a: [1, 10n] });
 * if ('message' in result) {
 *   const problem: JsonProblem = result;
 *   console.log(problem.path.join('.'), problem.code); // a.1 invalid_json
 * }
 * ```
 */
export interface JsonProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly code: string;
}

/** Keys refused in JSON objects: they change or hide an object's prototype in JavaScript readers. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

class Refused extends Error {
  constructor(
    readonly path: (string | number)[],
    readonly problem: string,
    readonly issueCode: string,
  ) {
    super(problem);
  }
}

/**
 * Checks that `value` is JSON data carebase stores as given, and returns a plain copy of it (what
 * is written, so a getter or proxy cannot change it between the check and the write), or the
 * first problem. Accepted: `null`, booleans, finite numbers, strings without NUL or lone
 * surrogates, valid `Date`s in carebase's range (copied as ISO strings, as `JSON.stringify`
 * writes them), arrays without holes or `undefined`, and plain objects (prototype
 * `Object.prototype` or `null`) whose own properties are all enumerable string keys other than
 * `__proto__`, `constructor` and `prototype`, with no `toJSON`. A property whose value is
 * `undefined` is left out, as in `JSON.stringify`. Refused, never stripped or rewritten: cycles,
 * deeper nesting than `maxDepth`, more than `maxBytes`, BigInt, functions, symbols (as values or
 * keys), `NaN`/`Infinity`, class instances (Map, Buffer, ...), and anything whose reading throws.
 *
 * @example
 * ```ts
 * import { checkJson } from 'carebase';
 * const cyclic: Record<string, unknown> = {};
 * cyclic.self = cyclic;
 * console.log(checkJson(cyclic)); // { path: ['self'], message: 'must not contain a cycle', code: 'cycle' }
 * console.log(checkJson({ at: new Date(0) })); // { value: { at: '1970-01-01T00:00:00.000Z' } }
 * ```
 */
export function checkJson(value: unknown, limits: JsonLimits = {}): { value: JsonValue } | JsonProblem {
  const maxDepth = limits.maxDepth ?? JSON_MAX_DEPTH;
  const maxBytes = limits.maxBytes ?? JSON_MAX_BYTES;
  const ancestors = new Set<object>();
  const path: (string | number)[] = [];
  let bytes = 0;
  const add = (n: number): void => {
    bytes += n;
    // The limit is the whole value's: reported at its root.
    if (bytes > maxBytes) throw new Refused([], `must be at most ${maxBytes} bytes of JSON`, 'too_big');
  };
  const refuse = (message: string, code = 'invalid_json'): never => {
    throw new Refused([...path], message, code);
  };
  const walk = (node: unknown, depth: number): JsonValue => {
    switch (typeof node) {
      case 'string': {
        const problem = textProblem(node);
        if (problem !== undefined) refuse(problem, 'invalid_text');
        add(Buffer.byteLength(node, 'utf8') + 2);
        return node;
      }
      case 'number':
        if (!Number.isFinite(node)) refuse('must be a finite number (NaN and Infinity are not JSON)');
        add(String(node).length);
        return node;
      case 'boolean':
        add(5);
        return node;
      case 'bigint':
        return refuse('must not contain a BigInt (not JSON)');
      case 'function':
        return refuse('must not contain a function (not JSON)');
      case 'symbol':
        return refuse('must not contain a symbol (not JSON)');
      case 'undefined':
        return refuse('must not be undefined (not JSON)');
      default:
        break;
    }
    if (node === null) {
      add(4);
      return null;
    }
    const object = node as object;
    if (node instanceof Date) {
      const problem = dateProblem(node);
      if (problem !== undefined) refuse(problem, 'invalid_date');
      add(26);
      return node.toISOString();
    }
    if (depth >= maxDepth) refuse(`must be nested at most ${maxDepth} levels deep`, 'too_deep');
    if (ancestors.has(object)) refuse('must not contain a cycle', 'cycle');
    ancestors.add(object);
    try {
      if (Array.isArray(object)) {
        const length = object.length;
        if (length > maxBytes) throw new Refused([], `must be at most ${maxBytes} bytes of JSON`, 'too_big');
        add(2);
        const copy: JsonValue[] = [];
        for (let i = 0; i < length; i++) {
          path.push(i);
          if (!(i in object)) refuse('must not have holes (not JSON)');
          const element: unknown = object[i];
          if (element === undefined) refuse('must not be undefined (not JSON)');
          if (i > 0) add(1);
          copy.push(walk(element, depth + 1));
          path.pop();
        }
        return copy;
      }
      const proto: unknown = Object.getPrototypeOf(object);
      if (proto !== Object.prototype && proto !== null) {
        refuse('must be a plain object, array or primitive (not a class instance)');
      }
      add(2);
      const copy: { [key: string]: JsonValue } = {};
      let first = true;
      for (const key of Reflect.ownKeys(object)) {
        if (typeof key === 'symbol') refuse('must not have symbol keys (not JSON)');
        const name = key as string;
        path.push(name);
        const descriptor = Reflect.getOwnPropertyDescriptor(object, name);
        if (descriptor?.enumerable !== true) refuse('must not have non-enumerable properties');
        if (FORBIDDEN_KEYS.has(name)) refuse(`must not use the key "${name}"`, 'forbidden_key');
        if (name === 'toJSON') refuse('must not define toJSON', 'forbidden_key');
        const keyProblem = textProblem(name);
        if (keyProblem !== undefined) refuse(`key ${keyProblem}`, 'invalid_text');
        const inner: unknown = (object as Record<string, unknown>)[name];
        if (inner !== undefined) {
          add(Buffer.byteLength(name, 'utf8') + (first ? 3 : 4));
          first = false;
          copy[name] = walk(inner, depth + 1);
        }
        path.pop();
      }
      return copy;
    } finally {
      ancestors.delete(object);
    }
  };
  try {
    return { value: walk(value, 0) };
  } catch (error) {
    if (error instanceof Refused) return { path: error.path, message: error.problem, code: error.issueCode };
    // A getter or proxy trap threw (or the walk ran out of stack): refused where it happened.
    return { path: [...path], message: 'could not be read as JSON', code: 'unreadable' };
  }
}

/**
 * A zod schema for a JSON object carebase stores (see {@link checkJson} for what is refused):
 * its output is the checked plain copy.
 *
 * @example
 * ```ts
 * import { jsonObjectSchema } from 'carebase';
 * const Metadata = jsonObjectSchema({ maxBytes: 4096 });
 * Metadata.safeParse({ model: 'gpt', tokens: 42 }).success; // true
 * Metadata.safeParse({ n: 10n }).success; // false: BigInt is not JSON
 * ```
 */
export function jsonObjectSchema(
  limits: JsonLimits = {},
): z.ZodType<{ [key: string]: JsonValue }, Record<string, unknown>> {
  return z
    .custom<Record<string, unknown>>(() => true)
    .transform((value, ctx) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
        ctx.issues.push({ code: 'custom', message: 'must be a JSON object', input: value });
        return z.NEVER;
      }
      const checked = checkJson(value, limits);
      if ('message' in checked) {
        ctx.issues.push({
          code: 'custom',
          message: checked.message,
          input: undefined,
          path: [...checked.path],
          params: { reason: checked.code },
        });
        return z.NEVER;
      }
      return checked.value as { [key: string]: JsonValue };
    });
}
