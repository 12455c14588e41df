import { z } from 'zod';
import { dateProblem } from './dates.js';
import type { JsonValue } from './json-value.js';
import { isStorableText, textProblem } from './text.js';

/**
 * Limits of a JSON value carebase stores (chat metadata, audit `changes` and `metadata`, analytics
 * `data`).
 *
 * @example
 * ```ts
 * import { type JsonLimits } from 'carebase';
 * import { jsonObjectSchema } from 'carebase/schemas';
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
 * import { JSON_MAX_DEPTH } from 'carebase';
 * import { jsonObjectSchema } from 'carebase/schemas';
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
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype', 'toJSON']);

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
  const walker = new JsonWalker(limits.maxDepth ?? JSON_MAX_DEPTH, limits.maxBytes ?? JSON_MAX_BYTES);
  try {
    return { value: walker.walk(value, 0) };
  } catch (error) {
    if (error instanceof Refused) return { path: error.path, message: error.problem, code: error.issueCode };
    // A getter or proxy trap threw (or the walk ran out of stack): refused where it happened.
    return { path: [...walker.path], message: 'could not be read as JSON', code: 'unreadable' };
  }
}

/** One {@link checkJson} pass (a class, so the hot path allocates no closures per value). */
class JsonWalker {
  /** Where the walk is: keys and indexes from the root. */
  readonly path: (string | number)[] = [];
  /** The objects and arrays enclosing the current value (a cycle returns to one of them). */
  readonly #ancestors: object[] = [];
  #bytes = 0;

  constructor(
    readonly maxDepth: number,
    readonly maxBytes: number,
  ) {}

  #add(n: number): void {
    this.#bytes += n;
    // The limit is the whole value's: reported at its root.
    if (this.#bytes > this.maxBytes) {
      throw new Refused([], `must be at most ${this.maxBytes} bytes of JSON`, 'too_big');
    }
  }

  #refuse(message: string, code = 'invalid_json'): never {
    throw new Refused([...this.path], message, code);
  }

  walk(node: unknown, depth: number): JsonValue {
    switch (typeof node) {
      case 'string': {
        if (!isStorableText(node)) this.#refuse(textProblem(node) ?? 'invalid text', 'invalid_text');
        // UTF-8 bytes: at most 3 per UTF-16 unit; counted exactly only near the limit.
        this.#add(
          (node.length * 3 + this.#bytes <= this.maxBytes ? node.length : Buffer.byteLength(node)) + 2,
        );
        return node;
      }
      case 'number':
        if (!Number.isFinite(node)) this.#refuse('must be a finite number (NaN and Infinity are not JSON)');
        this.#add(String(node).length);
        return node;
      case 'boolean':
        this.#add(5);
        return node;
      case 'bigint':
        return this.#refuse('must not contain a BigInt (not JSON)');
      case 'function':
        return this.#refuse('must not contain a function (not JSON)');
      case 'symbol':
        return this.#refuse('must not contain a symbol (not JSON)');
      case 'undefined':
        return this.#refuse('must not be undefined (not JSON)');
      default:
        break;
    }
    if (node === null) {
      this.#add(4);
      return null;
    }
    const object = node as object;
    if (object instanceof Date) {
      const problem = dateProblem(object);
      if (problem !== undefined) this.#refuse(problem, 'invalid_date');
      this.#add(26);
      return object.toISOString();
    }
    if (depth >= this.maxDepth)
      this.#refuse(`must be nested at most ${this.maxDepth} levels deep`, 'too_deep');
    if (this.#ancestors.includes(object)) this.#refuse('must not contain a cycle', 'cycle');
    this.#ancestors.push(object);
    const copy = Array.isArray(object) ? this.#array(object, depth) : this.#object(object, depth);
    this.#ancestors.pop();
    return copy;
  }

  #array(array: readonly unknown[], depth: number): JsonValue[] {
    const length = array.length;
    if (length > this.maxBytes)
      throw new Refused([], `must be at most ${this.maxBytes} bytes of JSON`, 'too_big');
    this.#add(length === 0 ? 2 : length + 1); // brackets and commas
    const copy: JsonValue[] = [];
    for (let i = 0; i < length; i++) {
      this.path.push(i);
      if (!(i in array)) this.#refuse('must not have holes (not JSON)');
      const element: unknown = array[i];
      if (element === undefined) this.#refuse('must not be undefined (not JSON)');
      copy.push(this.walk(element, depth + 1));
      this.path.pop();
    }
    return copy;
  }

  #object(object: object, depth: number): { [key: string]: JsonValue } {
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      this.#refuse('must be a plain object, array or primitive (not a class instance)');
    }
    const keys = Object.keys(object);
    const own = Reflect.ownKeys(object);
    if (own.length !== keys.length) {
      // Symbol keys or non-enumerable properties: JSON.stringify would silently drop them.
      const hidden = own.find((key) => typeof key === 'symbol' || !keys.includes(key));
      if (typeof hidden === 'string') this.path.push(hidden);
      this.#refuse(
        typeof hidden === 'symbol'
          ? 'must not have symbol keys (not JSON)'
          : 'must not have non-enumerable properties',
      );
    }
    this.#add(2);
    const copy: { [key: string]: JsonValue } = {};
    let first = true;
    for (const name of keys) {
      this.path.push(name);
      if (FORBIDDEN_KEYS.has(name)) this.#refuse(`must not use the key "${name}"`, 'forbidden_key');
      if (!isStorableText(name)) this.#refuse(`key ${textProblem(name) ?? 'invalid text'}`, 'invalid_text');
      const inner: unknown = (object as Record<string, unknown>)[name];
      if (inner !== undefined) {
        this.#add(name.length + (first ? 3 : 4));
        first = false;
        copy[name] = this.walk(inner, depth + 1);
      }
      this.path.pop();
    }
    return copy;
  }
}

/** Whether `value` can be a JSON object at all (an object, not null, an array or a `Date`): `checkJson` decides the rest. */
export function isJsonObjectCandidate(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * A zod schema for a JSON object carebase stores (see {@link checkJson} for what is refused):
 * its output is the checked plain copy.
 *
 * @example
 * ```ts
 * import { jsonObjectSchema } from 'carebase/schemas';
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
      if (!isJsonObjectCandidate(value)) {
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
