import type { JsonValue } from '../../validation/json-value.js';

/**
 * Provider-specific values kept with a part, by provider (the AI SDK's `ProviderMetadata`
 * shape): `{ openai: { itemId: 'msg_1' } }`. carebase stores it as given and never reads it.
 *
 * @example
 * ```ts
 * import type { ChatProviderMetadata } from 'carebase';
 * const providerMetadata: ChatProviderMetadata = { openai: { itemId: 'rs_123' } };
 * ```
 */
export type ChatProviderMetadata = { [provider: string]: { [key: string]: JsonValue } };

/**
 * Text shown to the reader. Indexed by full-text search.
 *
 * @example
 * ```ts
 * import type { ChatTextPart } from 'carebase';
 * const part: ChatTextPart = { type: 'text', text: 'Take 500 mg every 8 hours.' };
 * ```
 */
export interface ChatTextPart {
  readonly type: 'text';
  readonly text: string;
  /** Whether the text was complete when stored (the AI SDK's streaming state). */
  readonly state?: 'streaming' | 'done' | undefined;
  readonly providerMetadata?: ChatProviderMetadata | undefined;
}

/**
 * The model's reasoning (or its summary). Indexed by full-text search.
 *
 * @example
 * ```ts
 * import type { ChatReasoningPart } from 'carebase';
 * const part: ChatReasoningPart = { type: 'reasoning', text: 'The dose depends on renal function.' };
 * ```
 */
export interface ChatReasoningPart {
  readonly type: 'reasoning';
  readonly text: string;
  /** The provider's id of the reasoning block, if it has one. */
  readonly id?: string | undefined;
  readonly state?: 'streaming' | 'done' | undefined;
  readonly providerMetadata?: ChatProviderMetadata | undefined;
}

/**
 * A tool call made by the model. `input` is JSON within `chat.maxPartJsonBytes` /
 * `chat.maxPartJsonDepth`; searched only with `chat.searchToolParts`.
 *
 * @example
 * ```ts
 * import type { ChatToolCallPart } from 'carebase';
 * const part: ChatToolCallPart = {
 *   type: 'tool-call', toolCallId: 'call_1', toolName: 'lookupDrug', input: { name: 'amoxicillin' },
 * };
 * ```
 */
export interface ChatToolCallPart {
  readonly type: 'tool-call';
  readonly toolCallId: string;
  readonly toolName: string;
  readonly input: JsonValue;
  /** A tool not known in advance (the AI SDK's `dynamic-tool` parts). */
  readonly dynamic?: boolean | undefined;
  /** A display title of the tool. */
  readonly title?: string | undefined;
  /** Whether the provider ran the tool (not the host). */
  readonly providerExecuted?: boolean | undefined;
  readonly providerMetadata?: ChatProviderMetadata | undefined;
}

/**
 * The result of a tool call: `output` is JSON (an error's text when `isError`).
 *
 * @example
 * ```ts
 * import type { ChatToolResultPart } from 'carebase';
 * const part: ChatToolResultPart = {
 *   type: 'tool-result', toolCallId: 'call_1', output: { maxDailyMg: 3000 }, isError: false,
 * };
 * ```
 */
export interface ChatToolResultPart {
  readonly type: 'tool-result';
  readonly toolCallId: string;
  readonly output: JsonValue;
  readonly isError: boolean;
  /** The tool's name, when the result is stored without its call. */
  readonly toolName?: string | undefined;
  /** An intermediate result of a tool that streams its output. */
  readonly preliminary?: boolean | undefined;
  readonly providerMetadata?: ChatProviderMetadata | undefined;
}

/**
 * A file, by reference only: a URL (an `https:` link, or a `data:` URL of at most
 * `chat.maxInlineFileBytes`) or a host storage key. carebase never stores file bytes.
 *
 * @example
 * ```ts
 * import type { ChatFilePart } from 'carebase';
 * const part: ChatFilePart = { type: 'file', storageKey: 'scans/2024/ct-17.dcm', mediaType: 'application/dicom' };
 * ```
 */
export interface ChatFilePart {
  readonly type: 'file';
  readonly mediaType: string;
  /** Where the file is: exactly one of `url` and `storageKey`. */
  readonly url?: string | undefined;
  /** The host's key of the file in its own storage. */
  readonly storageKey?: string | undefined;
  readonly filename?: string | undefined;
  readonly providerMetadata?: ChatProviderMetadata | undefined;
}

/**
 * A source or citation: a web page (`sourceType: 'url'`, with `url`) or a document
 * (`sourceType: 'document'`, with `mediaType` and `title`).
 *
 * @example
 * ```ts
 * import type { ChatSourcePart } from 'carebase';
 * const part: ChatSourcePart = {
 *   type: 'source', sourceType: 'url', sourceId: 's1', url: 'https://www.nice.org.uk/guidance/ng51', title: 'Sepsis',
 * };
 * ```
 */
export interface ChatSourcePart {
  readonly type: 'source';
  readonly sourceType: 'url' | 'document';
  readonly sourceId: string;
  readonly url?: string | undefined;
  readonly title?: string | undefined;
  readonly mediaType?: string | undefined;
  readonly filename?: string | undefined;
  readonly providerMetadata?: ChatProviderMetadata | undefined;
}

/**
 * Host-defined data under a name (the AI SDK's `data-<name>` parts): JSON within the tool limits.
 *
 * @example
 * ```ts
 * import type { ChatDataPart } from 'carebase';
 * const part: ChatDataPart = { type: 'data', name: 'triage', data: { level: 2 } };
 * ```
 */
export interface ChatDataPart {
  readonly type: 'data';
  readonly name: string;
  readonly data: JsonValue;
  readonly id?: string | undefined;
}

/**
 * The start of a model step (the AI SDK's `step-start` parts).
 *
 * @example
 * ```ts
 * import type { ChatStepStartPart } from 'carebase';
 * const part: ChatStepStartPart = { type: 'step-start' };
 * ```
 */
export interface ChatStepStartPart {
  readonly type: 'step-start';
}

/**
 * One typed part of a message (`ChatMessage.parts`), discriminated by `type`. Stored as version 1
 * of carebase's part format (`{ "v": 1, "parts": [...] }` in `chat_messages.parts`).
 *
 * @example
 * ```ts
 * import type { ChatPart } from 'carebase';
 * const parts: ChatPart[] = [
 *   { type: 'reasoning', text: 'Check the renal dose.' },
 *   { type: 'tool-call', toolCallId: 'c1', toolName: 'renalDose', input: { egfr: 25 } },
 *   { type: 'tool-result', toolCallId: 'c1', output: { mg: 250 }, isError: false },
 *   { type: 'text', text: 'Give 250 mg.' },
 * ];
 * await cb.chat.append({ userId, conversationId, role: 'assistant', parts });
 * ```
 */
export type ChatPart =
  | ChatTextPart
  | ChatReasoningPart
  | ChatToolCallPart
  | ChatToolResultPart
  | ChatFilePart
  | ChatSourcePart
  | ChatDataPart
  | ChatStepStartPart;

/**
 * The version of the stored part format (the `v` of `chat_messages.parts`).
 *
 * @example
 * <!-- snippet-preamble: declare const messageId: string; -->
 * ```ts
 * import { CHAT_PARTS_VERSION } from 'carebase';
 * const row = await cb.db.selectFrom('chat_messages').select('parts').where('id', '=', messageId).executeTakeFirst();
 * const stored = row?.parts as { v: number } | null | undefined;
 * if (stored && stored.v !== CHAT_PARTS_VERSION) throw new Error('newer part format');
 * ```
 */
export const CHAT_PARTS_VERSION = 1;
