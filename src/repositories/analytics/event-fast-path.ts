/** An event the schema accepted (or would accept): the fields `prepareEvent` reads. */
export interface ParsedEvent {
  readonly userId?: string | null | undefined;
  readonly sessionId?: string | null | undefined;
  readonly eventType: string;
  readonly eventName: string;
  readonly data?: Readonly<Record<string, unknown>> | null | undefined;
  readonly measures?: Readonly<Record<string, unknown>> | null | undefined;
  readonly occurredAt?: Date | undefined;
}

// Character classes of the name patterns, indexed by char code (0..127; anything above is refused).
const LOWER = 1;
const WORD = 2; // [a-z0-9_]
const NAME = 4; // [a-z0-9_.:-]
const CLASSES = new Uint8Array(128);
for (let c = 0x61; c <= 0x7a; c++) CLASSES[c] = LOWER | WORD | NAME;
for (let c = 0x30; c <= 0x39; c++) CLASSES[c] = WORD | NAME;
CLASSES[0x5f] = WORD | NAME; // _
for (const c of [0x2e, 0x3a, 0x2d]) CLASSES[c] = NAME; // . : -

/** `^[a-z][<class>]*$` and at most `max` characters (all ASCII), as the schema's `.max()` and `.regex()`. */
function isName(value: unknown, max: number, rest: number): value is string {
  if (typeof value !== 'string') return false;
  const length = value.length;
  if (length === 0 || length > max) return false;
  if (((CLASSES[value.charCodeAt(0)] ?? 0) & LOWER) === 0) return false;
  for (let i = 1; i < length; i++) if (((CLASSES[value.charCodeAt(i)] ?? 0) & rest) === 0) return false;
  return true;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * zod's `z.uuid()` pattern: RFC 9562 versions 1-8 with the RFC variant, either case, plus the
 * lower-case nil and max UUIDs.
 */
function isUuid(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!isHex(c)) return false;
  }
  const version = value.charCodeAt(14);
  const variant = value.charCodeAt(19) | 0x20; // lower-cased (it is a hex digit)
  if (
    version >= 0x31 &&
    version <= 0x38 &&
    (variant === 0x38 || variant === 0x39 || variant === 0x61 || variant === 0x62)
  ) {
    return true;
  }
  return value === '00000000-0000-0000-0000-000000000000' || value === 'ffffffff-ffff-ffff-ffff-ffffffffffff';
}

/**
 * At most 128 UTF-16 units (so at most 128 code points, what the schema counts; longer strings of
 * astral characters are left to zod), not empty, no character below U+0020.
 */
function isSessionId(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > 128) return false;
  for (let i = 0; i < length; i++) if (value.charCodeAt(i) < 0x20) return false;
  return true;
}

/**
 * Whether `data` is a record zod accepts *and* copies into an object that serializes, and lists
 * its keys, exactly like `data` itself: a plain object (prototype `Object.prototype` or `null`)
 * without an own `constructor` (zod inspects it), an own `__proto__` key (zod drops it), symbol
 * keys (zod refuses them) or a `toJSON` (the copy would serialize differently).
 */
function isPlainRecord(data: object): data is Record<string, unknown> {
  const proto = Object.getPrototypeOf(data);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.hasOwn(data, 'constructor') || Object.hasOwn(data, '__proto__')) return false;
  if ((data as { toJSON?: unknown }).toJSON !== undefined) return false;
  return Object.getOwnPropertySymbols(data).length === 0;
}

/** A plain record of finite numbers and strings, which zod's `record(string, number | string)` accepts as is. */
function isMeasureRecord(measures: unknown): boolean {
  if (typeof measures !== 'object' || measures === null || Array.isArray(measures)) return false;
  if (!isPlainRecord(measures)) return false;
  for (const key in measures) {
    if (!Object.hasOwn(measures, key)) return false;
    const value = (measures as Record<string, unknown>)[key];
    if (typeof value === 'string') continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  }
  return true;
}

/**
 * The common case of `AnalyticsEventInput`, decided without zod's per-object overhead (bulk
 * ingest validates 200k events per call). Returns the event's fields when the schema certainly
 * accepts it and zod's output would lead to the same row; `undefined` whenever that is not
 * certain, and the caller then runs the zod schema, which stays the single source of truth (and of
 * error messages). It may therefore refuse more than the schema, never less;
 * test/analytics/fast-validation.test.ts checks both on random and edge-case events.
 *
 * Accessor properties are read once here, as zod reads them once.
 */
export function fastParseEvent(input: unknown): ParsedEvent | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const proto = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) return undefined;
  // The strict object's unknown-key check walks `for...in` too.
  for (const key in input) {
    switch (key) {
      case 'userId':
      case 'sessionId':
      case 'eventType':
      case 'eventName':
      case 'data':
      case 'measures':
      case 'occurredAt':
        break;
      default:
        return undefined;
    }
  }
  const { userId, sessionId, eventType, eventName, data, measures, occurredAt } = input as Record<
    string,
    unknown
  >;
  if (!isName(eventType, 64, WORD) || !isName(eventName, 128, NAME)) return undefined;
  if (userId !== undefined && userId !== null && (typeof userId !== 'string' || !isUuid(userId))) {
    return undefined;
  }
  if (
    sessionId !== undefined &&
    sessionId !== null &&
    (typeof sessionId !== 'string' || !isSessionId(sessionId))
  ) {
    return undefined;
  }
  if (
    data !== undefined &&
    data !== null &&
    (typeof data !== 'object' || Array.isArray(data) || !isPlainRecord(data))
  ) {
    return undefined;
  }
  if (measures !== undefined && measures !== null && !isMeasureRecord(measures)) return undefined;
  if (occurredAt !== undefined && !(occurredAt instanceof Date && !Number.isNaN(occurredAt.getTime()))) {
    return undefined;
  }
  return { userId, sessionId, eventType, eventName, data, measures, occurredAt } as ParsedEvent;
}
