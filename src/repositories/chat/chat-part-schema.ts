import { z } from 'zod';
import { checkJson } from '../../validation/json.js';
import type { JsonValue } from '../../validation/json-value.js';
import { type QuickField, quick, quickObject } from '../../validation/quick.js';
import { StorableTextSchema } from '../../validation/text.js';
import type { ChatPart, ChatProviderMetadata } from './chat-parts.js';

/**
 * The zod side of {@link ChatPart}. The configured limits (`chat.maxParts`,
 * `chat.maxPartJsonBytes`, `chat.maxPartJsonDepth`, `chat.maxPartsBytes`,
 * `chat.maxInlineFileBytes`) depend on configuration and are checked by the repository after
 * parsing (check-parts.ts); the schema holds the shape and the outer bounds of those options.
 */

/** The largest JSON any configuration accepts (the options' own maximum). */
const OUTER_JSON_LIMITS = { maxDepth: 64, maxBytes: 50_000_000 } as const;

/** Any JSON value carebase can store (see `checkJson`); the output is a plain copy. */
const jsonValue = z
  .custom<unknown>(() => true)
  .transform((value, ctx): JsonValue => {
    const checked = checkJson(value, OUTER_JSON_LIMITS);
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
    return checked.value;
  });

const identifier = StorableTextSchema.min(1).max(500);
const shortText = StorableTextSchema.max(1_000);
const mediaType = StorableTextSchema.min(1)
  .max(255)
  .regex(/^[\w.+-]+\/[\w.+-]+(?:\s*;.*)?$/, 'must be a media type');
const url = StorableTextSchema.min(1).max(50_000_000);
const state = z.enum(['streaming', 'done']).optional();

/** Provider-specific values: an object of JSON objects. */
const providerMetadata = z
  .custom<unknown>(() => true)
  .transform((value, ctx): ChatProviderMetadata => {
    const checked = checkJson(value, OUTER_JSON_LIMITS);
    const ok =
      !('message' in checked) &&
      typeof checked.value === 'object' &&
      checked.value !== null &&
      !Array.isArray(checked.value) &&
      Object.values(checked.value).every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    if (!ok) {
      ctx.issues.push({
        code: 'custom',
        message: 'must be an object of JSON objects, by provider',
        input: undefined,
        params: { reason: 'provider_metadata' },
      });
      return z.NEVER;
    }
    return (checked as { value: ChatProviderMetadata }).value;
  })
  .optional();

const text = z.strictObject({
  type: z.literal('text'),
  text: StorableTextSchema,
  state,
  providerMetadata,
});

const reasoning = z.strictObject({
  type: z.literal('reasoning'),
  text: StorableTextSchema,
  id: identifier.optional(),
  state,
  providerMetadata,
});

const toolCall = z.strictObject({
  type: z.literal('tool-call'),
  toolCallId: identifier,
  toolName: identifier,
  input: jsonValue,
  dynamic: z.boolean().optional(),
  title: shortText.optional(),
  providerExecuted: z.boolean().optional(),
  providerMetadata,
});

const toolResult = z.strictObject({
  type: z.literal('tool-result'),
  toolCallId: identifier,
  output: jsonValue,
  isError: z.boolean(),
  toolName: identifier.optional(),
  preliminary: z.boolean().optional(),
  providerMetadata,
});

const file = z
  .strictObject({
    type: z.literal('file'),
    mediaType,
    url: url.optional(),
    storageKey: StorableTextSchema.min(1).max(1_024).optional(),
    filename: shortText.optional(),
    providerMetadata,
  })
  .refine((part) => (part.url === undefined) !== (part.storageKey === undefined), {
    message: 'needs exactly one of url and storageKey',
    path: ['url'],
  });

const source = z
  .strictObject({
    type: z.literal('source'),
    sourceType: z.enum(['url', 'document']),
    sourceId: identifier,
    url: url.optional(),
    title: shortText.optional(),
    mediaType: mediaType.optional(),
    filename: shortText.optional(),
    providerMetadata,
  })
  .refine((part) => part.sourceType !== 'url' || part.url !== undefined, {
    message: 'a url source needs its url',
    path: ['url'],
  });

const data = z.strictObject({
  type: z.literal('data'),
  name: StorableTextSchema.min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'must be a name like triage-level'),
  data: jsonValue,
  id: identifier.optional(),
});

const stepStart = z.strictObject({ type: z.literal('step-start') });

const union = z.discriminatedUnion('type', [
  text,
  reasoning,
  toolCall,
  toolResult,
  file,
  source,
  data,
  stepStart,
]);

/** The parsed form is exactly `ChatPart`: a drift between the interfaces and the schema fails to compile. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesInterfaces: Same<z.output<typeof union>, ChatPart> = true;
void schemaMatchesInterfaces;

/**
 * One message part (see `ChatPart`): a discriminated union on `type`. Strings must be storable
 * text; JSON values (tool input and output, data) are checked like metadata.
 *
 * @example
 * ```ts
 * import { ChatPartSchema } from 'carebase/schemas';
 * ChatPartSchema.parse({ type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { q: 'ibuprofen' } });
 * ChatPartSchema.safeParse({ type: 'file', mediaType: 'image/png' }).success; // false: no url or storageKey
 * ```
 */
export const ChatPartSchema: z.ZodType<ChatPart, ChatPart> = union as unknown as z.ZodType<
  ChatPart,
  ChatPart
>;

/**
 * The `parts` of an appended message: at most 10,000 here (`chat.maxParts`, checked by the
 * repository, is the configured limit).
 *
 * @example
 * ```ts
 * import { ChatPartsSchema } from 'carebase/schemas';
 * ChatPartsSchema.parse([{ type: 'text', text: 'Hello' }]);
 * ```
 */
export const ChatPartsSchema = z.array(ChatPartSchema).max(10_000) as unknown as z.ZodType<
  ChatPart[],
  readonly ChatPart[]
>;

/** `jsonValue`'s quick form: the checked plain copy, or undefined to decline. */
const quickJson = quick.json(OUTER_JSON_LIMITS);
const quickIdentifier = quick.storableText(1, 500);
const quickState = quick.oneOf('streaming', 'done');

/**
 * The quick parses (see `src/validation/quick.ts`) of the parts of a typical assistant turn: text,
 * reasoning, tool calls and tool results, without `providerMetadata`. Every other part, and any
 * part with provider metadata, goes to the schema.
 */
const QUICK_PARTS = new Map<unknown, (input: unknown) => Readonly<Record<string, unknown>> | undefined>([
  [
    'text',
    quickObject({ type: quick.oneOf('text'), text: quick.storableText(), state: quickState }, [
      'type',
      'text',
    ]),
  ],
  [
    'reasoning',
    quickObject(
      { type: quick.oneOf('reasoning'), text: quick.storableText(), id: quickIdentifier, state: quickState },
      ['type', 'text'],
    ),
  ],
  [
    'tool-call',
    quickObject(
      {
        type: quick.oneOf('tool-call'),
        toolCallId: quickIdentifier,
        toolName: quickIdentifier,
        input: quickJson,
        dynamic: quick.boolean,
        title: quick.storableText(0, 1_000),
        providerExecuted: quick.boolean,
      },
      ['type', 'toolCallId', 'toolName', 'input'],
    ),
  ],
  [
    'tool-result',
    quickObject(
      {
        type: quick.oneOf('tool-result'),
        toolCallId: quickIdentifier,
        output: quickJson,
        isError: quick.boolean,
        toolName: quickIdentifier,
        preliminary: quick.boolean,
      },
      ['type', 'toolCallId', 'output', 'isError'],
    ),
  ],
]);

/**
 * `ChatPartsSchema`'s quick parse: an array of at most 10,000 parts, each a text, reasoning,
 * tool-call or tool-result part (see `QUICK_PARTS`); declines anything else.
 * test/chat/quick-append.test.ts holds it to the schema.
 */
export const quickChatParts: QuickField = (value) => {
  if (!Array.isArray(value) || value.length > 10_000) return undefined;
  const parts: unknown[] = [];
  for (let i = 0; i < value.length; i++) {
    const part: unknown = value[i];
    if (typeof part !== 'object' || part === null) return undefined;
    const parsed = QUICK_PARTS.get((part as { type?: unknown }).type)?.(part);
    if (parsed === undefined) return undefined;
    parts.push(parsed);
  }
  return parts;
};
