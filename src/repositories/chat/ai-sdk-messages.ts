import { ValidationError } from '../../errors/errors.js';
import type { JsonValue } from '../../validation/json-value.js';
import type { ChatPart, ChatProviderMetadata, ChatToolCallPart, ChatToolResultPart } from './chat-parts.js';
import type { ChatMessage } from './chat-types.js';

/**
 * AI SDK v5 `UIMessage` conversion, on structural types: carebase does not depend on `ai`. The
 * round trip `toUIMessage(await cb.chat.append({ userId, ...fromUIMessage(m) }))` deep-equals `m`
 * (test/chat/ai-sdk-roundtrip.test.ts checks it against the real `ai` types), except: a tool
 * part's `input-streaming` state comes back as `input-available` (stored messages are complete;
 * `rawInput` is dropped), an `output-error` part without `input` comes back with `input: null`,
 * and a dynamic tool part's `dynamic: false` marker is not kept.
 */

/**
 * One part of an AI SDK v5 `UIMessage` as carebase reads it: any object with a `type` (the real
 * `UIMessagePart` union is assignable to it).
 *
 * @example
 * ```ts
 * import type { AiSdkUIPartInput } from 'carebase';
 * const part: AiSdkUIPartInput = { type: 'text', text: 'Hello' };
 * ```
 */
export interface AiSdkUIPartInput {
  readonly type: string;
  readonly [key: string]: unknown;
}

/**
 * An AI SDK v5 `UIMessage` as carebase reads it (the real `UIMessage` is assignable to it).
 *
 * @example
 * ```ts
 * import type { AiSdkUIMessageInput } from 'carebase';
 * const message: AiSdkUIMessageInput = { id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] };
 * ```
 */
export interface AiSdkUIMessageInput {
  readonly id: string;
  readonly role: 'system' | 'user' | 'assistant';
  readonly metadata?: unknown;
  readonly parts: readonly AiSdkUIPartInput[];
}

/**
 * One part of a `UIMessage` as carebase writes it: assignable to the AI SDK v5 `UIMessagePart`.
 *
 * @example
 * ```ts
 * import type { AiSdkUIPart } from 'carebase';
 * const part: AiSdkUIPart = { type: 'reasoning', text: 'Checking the dose.' };
 * ```
 */
export type AiSdkUIPart =
  | { type: 'text'; text: string; state?: 'streaming' | 'done'; providerMetadata?: ChatProviderMetadata }
  | {
      type: 'reasoning';
      text: string;
      id?: string;
      state?: 'streaming' | 'done';
      providerMetadata?: ChatProviderMetadata;
    }
  | {
      type: `tool-${string}`;
      toolCallId: string;
      providerExecuted?: boolean;
      callProviderMetadata?: ChatProviderMetadata;
      state: 'input-available';
      input: unknown;
    }
  | {
      type: `tool-${string}`;
      toolCallId: string;
      providerExecuted?: boolean;
      callProviderMetadata?: ChatProviderMetadata;
      state: 'output-available';
      input: unknown;
      output: unknown;
      preliminary?: boolean;
    }
  | {
      type: `tool-${string}`;
      toolCallId: string;
      providerExecuted?: boolean;
      callProviderMetadata?: ChatProviderMetadata;
      state: 'output-error';
      input: unknown;
      errorText: string;
    }
  | {
      type: 'dynamic-tool';
      toolName: string;
      title?: string;
      toolCallId: string;
      providerExecuted?: boolean;
      callProviderMetadata?: ChatProviderMetadata;
      state: 'input-available';
      input: unknown;
    }
  | {
      type: 'dynamic-tool';
      toolName: string;
      title?: string;
      toolCallId: string;
      providerExecuted?: boolean;
      callProviderMetadata?: ChatProviderMetadata;
      state: 'output-available';
      input: unknown;
      output: unknown;
      preliminary?: boolean;
    }
  | {
      type: 'dynamic-tool';
      toolName: string;
      title?: string;
      toolCallId: string;
      providerExecuted?: boolean;
      callProviderMetadata?: ChatProviderMetadata;
      state: 'output-error';
      input: unknown;
      errorText: string;
    }
  | {
      type: 'source-url';
      sourceId: string;
      url: string;
      title?: string;
      providerMetadata?: ChatProviderMetadata;
    }
  | {
      type: 'source-document';
      sourceId: string;
      mediaType: string;
      title: string;
      filename?: string;
      providerMetadata?: ChatProviderMetadata;
    }
  | {
      type: 'file';
      mediaType: string;
      url: string;
      filename?: string;
      providerMetadata?: ChatProviderMetadata;
    }
  | { type: `data-${string}`; id?: string; data: unknown }
  | { type: 'step-start' };

/**
 * A `UIMessage` as carebase writes it: assignable to the AI SDK v5 `UIMessage`.
 *
 * @example
 * ```ts
 * import { type AiSdkUIMessage, toUIMessage } from 'carebase';
 * const [last] = await cb.chat.latest({ userId, conversationId, n: 1 });
 * const message: AiSdkUIMessage | undefined = last === undefined ? undefined : toUIMessage(last);
 * ```
 */
export interface AiSdkUIMessage {
  id: string;
  role: 'system' | 'user' | 'assistant';
  metadata?: JsonValue;
  parts: AiSdkUIPart[];
}

/**
 * What {@link fromUIMessage} returns: the fields of a `cb.chat.append` input taken from the
 * message (the caller adds `userId` and `conversationId`).
 *
 * @example
 * ```ts
 * import { type AiSdkAppendFields, fromUIMessage } from 'carebase';
 * const fields: AiSdkAppendFields = fromUIMessage({ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] });
 * await cb.chat.append({ userId, conversationId, ...fields });
 * ```
 */
export interface AiSdkAppendFields {
  /** The UIMessage's id, as the append's client id (a retry returns the first message). */
  readonly id: string;
  readonly role: 'system' | 'user' | 'assistant';
  readonly parts: ChatPart[];
  readonly metadata?: Record<string, unknown>;
}

function refuse(path: (string | number)[], message: string): never {
  throw new ValidationError(`invalid UIMessage at ${path.join('.')}: ${message}`, [
    { path, message, code: 'custom' },
  ]);
}

/** `source` with only the given `keys` that are not undefined (exactOptionalPropertyTypes-safe). */
function defined(source: Record<string, unknown>, keys: readonly string[]): Record<never, never> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

function text(value: unknown, path: (string | number)[]): string {
  if (typeof value !== 'string') refuse(path, 'must be a string');
  return value;
}

/** One UI part as carebase parts (a tool part becomes its call and, when finished, its result). */
function fromPart(part: AiSdkUIPartInput, path: (string | number)[]): ChatPart[] {
  const p = part as Record<string, unknown>;
  const type = part.type;
  if (type === 'text' || type === 'reasoning') {
    return [
      {
        type,
        text: text(p.text, [...path, 'text']),
        ...defined(
          p,
          type === 'reasoning' ? ['id', 'state', 'providerMetadata'] : ['state', 'providerMetadata'],
        ),
      } as ChatPart,
    ];
  }
  if (type === 'step-start') return [{ type: 'step-start' }];
  if (type === 'file') {
    return [
      { type: 'file', ...defined(p, ['mediaType', 'url', 'filename', 'providerMetadata']) } as ChatPart,
    ];
  }
  if (type === 'source-url' || type === 'source-document') {
    return [
      {
        type: 'source',
        sourceType: type === 'source-url' ? 'url' : 'document',
        ...defined(p, ['sourceId', 'url', 'title', 'mediaType', 'filename', 'providerMetadata']),
      } as ChatPart,
    ];
  }
  if (type.startsWith('data-')) {
    return [
      { type: 'data', name: type.slice(5), data: p.data as JsonValue, ...defined(p, ['id']) } as ChatPart,
    ];
  }
  if (type.startsWith('tool-') || type === 'dynamic-tool') {
    const dynamic = type === 'dynamic-tool';
    const toolCallId = text(p.toolCallId, [...path, 'toolCallId']);
    const call = {
      type: 'tool-call',
      toolCallId,
      toolName: dynamic ? text(p.toolName, [...path, 'toolName']) : type.slice(5),
      input: (p.input ?? null) as JsonValue,
      ...(dynamic ? { dynamic: true } : {}),
      ...defined(p, ['title', 'providerExecuted']),
      ...(p.callProviderMetadata === undefined ? {} : { providerMetadata: p.callProviderMetadata }),
    } as ChatToolCallPart;
    if (p.state === 'output-available') {
      const result = {
        type: 'tool-result',
        toolCallId,
        output: (p.output ?? null) as JsonValue,
        isError: false,
        ...defined(p, ['preliminary']),
      } as ChatToolResultPart;
      return [call, result];
    }
    if (p.state === 'output-error') {
      return [
        call,
        { type: 'tool-result', toolCallId, output: text(p.errorText, [...path, 'errorText']), isError: true },
      ];
    }
    return [call];
  }
  return refuse([...path, 'type'], 'is not an AI SDK v5 part type');
}

/**
 * Converts an AI SDK v5 `UIMessage` into the fields of a `cb.chat.append` input: its id (as the
 * client id), role, parts (a tool part becomes a `tool-call` and, once finished, a `tool-result`
 * part) and metadata (which must then be a JSON object). Pure; throws `ValidationError` for a part
 * type or metadata it cannot store (the append validates the rest).
 *
 * @example
 * ```ts
 * import { fromUIMessage } from 'carebase';
 * // In a route handler: the AI SDK's onFinish gives the UIMessages of the turn.
 * const uiMessage = { id: 'msg-1', role: 'user' as const, parts: [{ type: 'text' as const, text: 'Is 1 g too much?' }] };
 * await cb.chat.append({ userId, conversationId, ...fromUIMessage(uiMessage) });
 * ```
 */
export function fromUIMessage(message: AiSdkUIMessageInput): AiSdkAppendFields {
  const metadata = message.metadata;
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  ) {
    refuse(['metadata'], 'must be a JSON object to be stored');
  }
  return {
    id: message.id,
    role: message.role,
    parts: message.parts.flatMap((part, index) => fromPart(part, ['parts', index])),
    ...(metadata === undefined ? {} : { metadata: metadata as Record<string, unknown> }),
  };
}

/** The UI form of a tool call, with its result when one follows. */
function toolPart(call: ChatToolCallPart, result: ChatToolResultPart | undefined): AiSdkUIPart {
  const base = {
    toolCallId: call.toolCallId,
    ...(call.providerExecuted === undefined ? {} : { providerExecuted: call.providerExecuted }),
    ...(call.providerMetadata === undefined ? {} : { callProviderMetadata: call.providerMetadata }),
  };
  const state =
    result === undefined
      ? { state: 'input-available' as const, input: call.input }
      : result.isError
        ? {
            state: 'output-error' as const,
            input: call.input,
            errorText: typeof result.output === 'string' ? result.output : JSON.stringify(result.output),
          }
        : {
            state: 'output-available' as const,
            input: call.input,
            output: result.output,
            ...(result.preliminary === undefined ? {} : { preliminary: result.preliminary }),
          };
  return call.dynamic === true
    ? {
        type: 'dynamic-tool',
        toolName: call.toolName,
        ...(call.title === undefined ? {} : { title: call.title }),
        ...base,
        ...state,
      }
    : { type: `tool-${call.toolName}`, ...base, ...state };
}

/** A carebase part as UI parts (tool results merge into their call's part). */
function toPart(part: ChatPart): AiSdkUIPart | undefined {
  const r = part as unknown as Record<string, unknown>;
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text, ...defined(r, ['state', 'providerMetadata']) };
    case 'reasoning':
      return { type: 'reasoning', text: part.text, ...defined(r, ['id', 'state', 'providerMetadata']) };
    case 'step-start':
      return { type: 'step-start' };
    case 'file':
      return {
        type: 'file',
        mediaType: part.mediaType,
        url: part.url ?? part.storageKey ?? '',
        ...defined(r, ['filename', 'providerMetadata']),
      };
    case 'source':
      return part.sourceType === 'url'
        ? {
            type: 'source-url',
            sourceId: part.sourceId,
            url: part.url ?? '',
            ...defined(r, ['title', 'providerMetadata']),
          }
        : {
            type: 'source-document',
            sourceId: part.sourceId,
            mediaType: part.mediaType ?? 'application/octet-stream',
            title: part.title ?? '',
            ...defined(r, ['filename', 'providerMetadata']),
          };
    case 'data':
      return { type: `data-${part.name}`, data: part.data, ...defined(r, ['id']) };
    default:
      return undefined;
  }
}

/**
 * Converts a carebase message into an AI SDK v5 `UIMessage`: the client id (else carebase's id)
 * as its id, `tool` role as `assistant`, the parts (a `tool-call` and its `tool-result` as one
 * tool part; a result without its call as a `dynamic-tool` part), or for a message without parts
 * one text part of its content. Pure; never throws.
 *
 * @example
 * ```ts
 * import { toUIMessage } from 'carebase';
 * const { items } = await cb.chat.history({ userId, conversationId, limit: 100 });
 * const uiMessages = items.map(toUIMessage); // initial messages for useChat
 * ```
 */
export function toUIMessage(
  message: Pick<ChatMessage, 'id' | 'clientId' | 'role' | 'content' | 'parts' | 'metadata'>,
): AiSdkUIMessage {
  const role = message.role === 'tool' ? 'assistant' : message.role;
  const base = {
    id: message.clientId ?? message.id,
    role,
    ...(message.metadata === null ? {} : { metadata: message.metadata }),
  };
  if (message.parts === null) {
    return { ...base, parts: message.content === '' ? [] : [{ type: 'text', text: message.content }] };
  }
  const results = new Map<string, ChatToolResultPart>();
  const calls = new Set<string>();
  for (const part of message.parts) {
    if (part.type === 'tool-result' && !results.has(part.toolCallId)) results.set(part.toolCallId, part);
    if (part.type === 'tool-call') calls.add(part.toolCallId);
  }
  const parts: AiSdkUIPart[] = [];
  for (const part of message.parts) {
    if (part.type === 'tool-call') parts.push(toolPart(part, results.get(part.toolCallId)));
    else if (part.type === 'tool-result') {
      if (!calls.has(part.toolCallId)) {
        const orphan: ChatToolCallPart = {
          type: 'tool-call',
          toolCallId: part.toolCallId,
          toolName: part.toolName ?? 'unknown',
          input: null,
          dynamic: true,
        };
        parts.push(toolPart(orphan, part));
      }
    } else {
      const converted = toPart(part);
      if (converted !== undefined) parts.push(converted);
    }
  }
  return { ...base, parts };
}
