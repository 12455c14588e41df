import { ValidationError } from '../../errors/errors.js';
import type { ChatRole } from '../../schema/chat.js';
import type { JsonValue } from '../../validation/json-value.js';
import type { ChatPart } from './chat-parts.js';

/**
 * OpenAI Responses API item conversion, on structural types: carebase does not depend on
 * `openai`. Supported items: messages (`input_text` / `output_text` content, or string content),
 * `reasoning`, `function_call` and `function_call_output`; their fields that have no place in a
 * part (item ids, status, annotations, encrypted reasoning, ...) travel in the parts'
 * `providerMetadata.openai`, so `toOpenAIResponseItems(fromOpenAIResponseItems(items))` deep-equals
 * `items` (test/chat/openai-roundtrip.test.ts checks it against the real `openai` types).
 */

/**
 * A Responses API input or output item as carebase reads it: any object (the real
 * `ResponseInputItem` and `ResponseOutputItem` unions are assignable to it).
 *
 * @example
 * ```ts
 * import type { OpenAIResponseItemInput } from 'carebase';
 * const item: OpenAIResponseItemInput = { role: 'user', content: 'What is the max dose?' };
 * ```
 */
export interface OpenAIResponseItemInput {
  /** The item type (`message` when absent, as in the API's easy input messages). */
  readonly type?: string | null | undefined;
  /** A message item's role. */
  readonly role?: string | undefined;
  /** A message item's content. */
  readonly content?: unknown;
}

/**
 * An `output_text` annotation (citations, file paths) as carebase writes it.
 *
 * @example
 * ```ts
 * import type { OpenAIAnnotation } from 'carebase';
 * const cite: OpenAIAnnotation = { type: 'url_citation', url: 'https://example.org', title: 'x', start_index: 0, end_index: 4 };
 * ```
 */
export type OpenAIAnnotation =
  | { type: 'url_citation'; url: string; title: string; start_index: number; end_index: number }
  | { type: 'file_citation'; file_id: string; filename: string; index: number }
  | { type: 'file_path'; file_id: string; index: number };

/**
 * A Responses API item as carebase writes it: assignable to the `openai` package's
 * `ResponseInputItem`, so the result can be sent as the next request's `input`.
 *
 * @example
 * ```ts
 * import { type OpenAIResponseItem, toOpenAIResponseItems } from 'carebase';
 * const { items } = await cb.chat.history({ userId, conversationId, limit: 100 });
 * const input: OpenAIResponseItem[] = toOpenAIResponseItems(items);
 * ```
 */
export type OpenAIResponseItem =
  | {
      type?: 'message';
      role: 'user' | 'assistant' | 'system' | 'developer';
      content: string | { type: 'input_text'; text: string }[];
    }
  | {
      type: 'message';
      id: string;
      role: 'assistant';
      status: 'in_progress' | 'completed' | 'incomplete';
      content: { type: 'output_text'; text: string; annotations: OpenAIAnnotation[] }[];
    }
  | {
      type: 'reasoning';
      id: string;
      summary: { type: 'summary_text'; text: string }[];
      encrypted_content?: string | null;
      status?: 'in_progress' | 'completed' | 'incomplete';
    }
  | {
      type: 'function_call';
      call_id: string;
      name: string;
      arguments: string;
      id?: string;
      status?: 'in_progress' | 'completed' | 'incomplete';
    }
  | {
      type: 'function_call_output';
      call_id: string;
      output: string;
      id?: string | null;
      status?: 'in_progress' | 'completed' | 'incomplete' | null;
    };

/**
 * One message of {@link fromOpenAIResponseItems}: the role and parts of a `cb.chat.append` input
 * (the caller adds `userId` and `conversationId`).
 *
 * @example
 * ```ts
 * import { fromOpenAIResponseItems, type OpenAIMessageFields } from 'carebase';
 * const turn: OpenAIMessageFields[] = fromOpenAIResponseItems([{ role: 'user', content: 'Hello' }]);
 * await cb.chat.appendMany(turn.map((fields) => ({ userId, conversationId, ...fields })));
 * ```
 */
export interface OpenAIMessageFields {
  readonly role: ChatRole;
  readonly parts: ChatPart[];
}

/** What a part remembers of its item (`providerMetadata.openai`). */
interface Memo {
  /** The item's own fields besides those the part holds; present on an item's first part. */
  item?: { [key: string]: JsonValue };
  /** The part continues the previous part's item (a second content or summary entry). */
  continues?: boolean;
  /** `output_text` content (else `input_text`). */
  output?: boolean;
  /** The message's content was a string. */
  string?: boolean;
  annotations?: JsonValue;
  /** `function_call.arguments` that are not canonical JSON, kept as the input string. */
  raw?: boolean;
  /** A reasoning item without summary entries. */
  empty?: boolean;
  /** A content entry's other fields (e.g. `logprobs`). */
  entry?: { [key: string]: JsonValue };
}

function refuse(path: (string | number)[], message: string): never {
  throw new ValidationError(`invalid OpenAI item at ${path.join('.')}: ${message}`, [
    { path, message, code: 'custom' },
  ]);
}

function str(value: unknown, path: (string | number)[]): string {
  if (typeof value !== 'string') refuse(path, 'must be a string');
  return value;
}

function rest(item: Record<string, unknown>, taken: readonly string[]): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(item)) {
    if (!taken.includes(key) && value !== undefined) out[key] = value as JsonValue;
  }
  return out;
}

function withMemo<P extends ChatPart>(part: P, memo: Memo): P {
  return { ...part, providerMetadata: { openai: memo as { [key: string]: JsonValue } } };
}

function partsOf(item: Record<string, unknown>, path: (string | number)[]): ChatPart[] {
  const type = item.type ?? 'message';
  if (type === 'message') {
    const fields = rest(item, ['content']);
    if (typeof item.content === 'string') {
      return [withMemo({ type: 'text', text: item.content }, { item: fields, string: true })];
    }
    if (!Array.isArray(item.content) || item.content.length === 0)
      refuse([...path, 'content'], 'must be text or a non-empty list');
    return item.content.map((entry: Record<string, unknown>, index) => {
      const at = [...path, 'content', index];
      if (entry.type !== 'input_text' && entry.type !== 'output_text')
        refuse([...at, 'type'], 'only input_text and output_text are supported');
      const text = str(entry.text, [...at, 'text']);
      const output = entry.type === 'output_text';
      const extra = rest(entry, ['type', 'text', 'annotations']);
      const memo: Memo = {
        ...(index === 0 ? { item: fields } : { continues: true }),
        ...(output ? { output: true, annotations: (entry.annotations ?? []) as JsonValue } : {}),
        ...(Object.keys(extra).length > 0 ? { entry: extra } : {}),
      };
      return withMemo({ type: 'text', text }, memo);
    });
  }
  if (type === 'reasoning') {
    const memo = rest(item, ['summary']);
    const summary = Array.isArray(item.summary)
      ? (item.summary as Record<string, unknown>[])
      : refuse([...path, 'summary'], 'must be a list');
    if (summary.length === 0) return [withMemo({ type: 'reasoning', text: '' }, { item: memo, empty: true })];
    return summary.map((entry, index) =>
      withMemo(
        { type: 'reasoning', text: str(entry.text, [...path, 'summary', index, 'text']) },
        index === 0 ? { item: memo } : { continues: true },
      ),
    );
  }
  if (type === 'function_call') {
    const args = str(item.arguments, [...path, 'arguments']);
    let input: JsonValue = args;
    let raw = true;
    try {
      const parsed = JSON.parse(args) as JsonValue;
      if (JSON.stringify(parsed) === args) {
        input = parsed;
        raw = false;
      }
    } catch {
      // Not JSON (a model can emit anything): kept as the string.
    }
    return [
      withMemo(
        {
          type: 'tool-call',
          toolCallId: str(item.call_id, [...path, 'call_id']),
          toolName: str(item.name, [...path, 'name']),
          input,
        },
        { item: rest(item, ['type', 'call_id', 'name', 'arguments']), ...(raw ? { raw: true } : {}) },
      ),
    ];
  }
  if (type === 'function_call_output') {
    return [
      withMemo(
        {
          type: 'tool-result',
          toolCallId: str(item.call_id, [...path, 'call_id']),
          output: str(item.output, [...path, 'output']),
          isError: false,
        },
        { item: rest(item, ['type', 'call_id', 'output']) },
      ),
    ];
  }
  return refuse(
    [...path, 'type'],
    'only message, reasoning, function_call and function_call_output items are supported',
  );
}

/** carebase's role of a message item's role. */
function roleOf(item: Record<string, unknown>): ChatRole {
  const type = item.type ?? 'message';
  if (type !== 'message' || item.role === 'assistant') return 'assistant';
  return item.role === 'user' ? 'user' : 'system';
}

/**
 * Converts Responses API items (a request's `input`, a response's `output`, or a stored
 * conversation's items) into messages for `cb.chat.append` / `appendMany`: each user, system or
 * developer message item is one message; consecutive assistant items (assistant messages,
 * reasoning, function calls and their outputs) form one assistant message. Pure; throws
 * `ValidationError` naming the item (`3.type`) for an item type it does not store.
 *
 * @example
 * ```ts
 * import { fromOpenAIResponseItems } from 'carebase';
 * const response = { output: [{ type: 'function_call' as const, call_id: 'c1', name: 'lookup', arguments: '{"q":"x"}' }] };
 * for (const fields of fromOpenAIResponseItems(response.output)) {
 *   await cb.chat.append({ userId, conversationId, ...fields });
 * }
 * ```
 */
export function fromOpenAIResponseItems(items: readonly OpenAIResponseItemInput[]): OpenAIMessageFields[] {
  const messages: OpenAIMessageFields[] = [];
  items.forEach((item, index) => {
    const record = item as Record<string, unknown>;
    const role = roleOf(record);
    const parts = partsOf(record, [index]);
    const last = messages[messages.length - 1];
    if (role === 'assistant' && last !== undefined && last.role === 'assistant') last.parts.push(...parts);
    else messages.push({ role, parts });
  });
  return messages;
}

function memoOf(part: ChatPart): Memo | undefined {
  return 'providerMetadata' in part ? (part.providerMetadata?.openai as Memo | undefined) : undefined;
}

/**
 * Converts carebase messages into Responses API input items, ready for the next request's
 * `input`: parts written by {@link fromOpenAIResponseItems} come back as their items; other text
 * parts (and messages without parts) as role messages; tool calls and results as
 * `function_call` / `function_call_output` items. Reasoning without an OpenAI item id, files,
 * sources and data parts have no input item and are left out. Pure; never throws.
 *
 * @example
 * ```ts
 * import { toOpenAIResponseItems } from 'carebase';
 * const context = await cb.chat.latest({ userId, conversationId, n: 30 });
 * const input = toOpenAIResponseItems(context); // openai.responses.create({ model, input })
 * ```
 */
export function toOpenAIResponseItems(
  messages: readonly {
    readonly role: ChatRole;
    readonly content: string;
    readonly parts: readonly ChatPart[] | null;
  }[],
): OpenAIResponseItem[] {
  const items: OpenAIResponseItem[] = [];
  const plainRole = (role: ChatRole) => (role === 'tool' ? 'assistant' : role);
  for (const message of messages) {
    if (message.parts === null) {
      items.push({ role: plainRole(message.role), content: message.content });
      continue;
    }
    for (const part of message.parts) {
      const memo = memoOf(part);
      const item = memo?.item ?? {};
      if (part.type === 'text') {
        if (memo === undefined) {
          items.push({ role: plainRole(message.role), content: part.text });
        } else if (memo.string === true) {
          items.push({ ...item, content: part.text } as OpenAIResponseItem);
        } else {
          const entry = {
            ...(memo.entry ?? {}),
            type: memo.output === true ? 'output_text' : 'input_text',
            text: part.text,
            ...(memo.output === true ? { annotations: memo.annotations ?? [] } : {}),
          };
          const previous = items[items.length - 1] as { content?: unknown } | undefined;
          if (memo.continues === true && previous !== undefined && Array.isArray(previous.content)) {
            previous.content.push(entry);
          } else {
            items.push({ ...item, content: [entry] } as OpenAIResponseItem);
          }
        }
      } else if (part.type === 'reasoning' && memo !== undefined) {
        const previous = items[items.length - 1] as { type?: string; summary?: unknown[] } | undefined;
        if (memo.continues === true && previous?.type === 'reasoning' && previous.summary !== undefined) {
          previous.summary.push({ type: 'summary_text', text: part.text });
        } else {
          items.push({
            ...item,
            type: 'reasoning',
            summary: memo.empty === true ? [] : [{ type: 'summary_text', text: part.text }],
          } as OpenAIResponseItem);
        }
      } else if (part.type === 'tool-call') {
        items.push({
          ...item,
          type: 'function_call',
          call_id: part.toolCallId,
          name: part.toolName,
          arguments:
            memo?.raw === true && typeof part.input === 'string' ? part.input : JSON.stringify(part.input),
        } as OpenAIResponseItem);
      } else if (part.type === 'tool-result') {
        items.push({
          ...item,
          type: 'function_call_output',
          call_id: part.toolCallId,
          output: typeof part.output === 'string' ? part.output : JSON.stringify(part.output),
        } as OpenAIResponseItem);
      }
    }
  }
  return items;
}
