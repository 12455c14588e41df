import type { ChatPart } from './chat-parts.js';
import { SEARCH_INDEX_CHARS } from './search-index-limit.js';

/**
 * A message as far as search is concerned: its content and its parts.
 *
 * @example
 * ```ts
 * import type { SearchableMessage } from 'carebase';
 * const message: SearchableMessage = { content: '', parts: [{ type: 'reasoning', text: 'renal dose' }] };
 * ```
 */
export interface SearchableMessage {
  readonly content: string;
  readonly parts?: readonly ChatPart[] | null | undefined;
}

/**
 * What goes into the searchable text besides text and reasoning parts.
 *
 * @example
 * ```ts
 * import type { SearchableTextOptions } from 'carebase';
 * const options: SearchableTextOptions = { toolParts: cb.config.chat.searchToolParts };
 * ```
 */
export interface SearchableTextOptions {
  /** Tool-call input and tool-result output (their JSON text). @default false (`chat.searchToolParts`) */
  readonly toolParts?: boolean | undefined;
}

/** Between two searchable pieces: a paragraph break, so words never run together. */
const SEPARATOR = '\n\n';

/** The text of a message's text parts, joined: the `content` of a message appended with parts only. */
export function textOfParts(parts: readonly ChatPart[]): string {
  return parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join(SEPARATOR);
}

/**
 * The searchable pieces of `parts` that `content` does not already hold: text parts (unless
 * `content` is exactly their joined text, as when carebase derived it), reasoning parts, and with
 * `toolParts` the tool name and JSON input of tool calls and the JSON output of tool results.
 */
function partPieces(content: string, parts: readonly ChatPart[], options: SearchableTextOptions): string[] {
  const textInContent = content === textOfParts(parts);
  const pieces: string[] = [];
  for (const part of parts) {
    if (part.type === 'text' && !textInContent && part.text !== '') pieces.push(part.text);
    else if (part.type === 'reasoning' && part.text !== '') pieces.push(part.text);
    else if (options.toolParts === true && part.type === 'tool-call')
      pieces.push(`${part.toolName} ${JSON.stringify(part.input)}`);
    else if (options.toolParts === true && part.type === 'tool-result')
      pieces.push(JSON.stringify(part.output));
  }
  return pieces;
}

/** The first `max` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * The part of a message's searchable text that follows its content (what carebase indexes in
 * `chat_messages.parts_search`), already cut so that content, separator and this together stay
 * within {@link SEARCH_INDEX_CHARS}; `null` when there is none.
 */
export function partsSearchText(
  message: SearchableMessage,
  options: SearchableTextOptions = {},
): string | null {
  if (message.parts === undefined || message.parts === null) return null;
  const pieces = partPieces(message.content, message.parts, options);
  if (pieces.length === 0) return null;
  // JS lengths count UTF-16 units, PostgreSQL's count code points (never more): a safe budget.
  const budget =
    message.content === ''
      ? SEARCH_INDEX_CHARS
      : SEARCH_INDEX_CHARS - message.content.length - SEPARATOR.length;
  if (budget <= 0) return null;
  return cut(pieces.join(SEPARATOR), budget);
}

/**
 * The searchable text of a message: exactly the text carebase's full-text search indexes for it
 * (content, then text parts not already in the content, reasoning parts, and with `toolParts` the
 * tool calls' names and JSON input and the tool results' JSON output, separated by blank lines),
 * cut to {@link SEARCH_INDEX_CHARS}. One definition, for every index built from message text.
 * Pure; never throws for a valid message.
 *
 * @example
 * ```ts
 * import { searchableText } from 'carebase';
 * const text = searchableText(
 *   { content: 'Give 250 mg.', parts: [{ type: 'reasoning', text: 'eGFR is 25' }, { type: 'text', text: 'Give 250 mg.' }] },
 *   { toolParts: cb.config.chat.searchToolParts },
 * );
 * // 'Give 250 mg.\n\neGFR is 25'
 * ```
 */
export function searchableText(message: SearchableMessage, options: SearchableTextOptions = {}): string {
  const content = cut(message.content, SEARCH_INDEX_CHARS);
  const extra = partsSearchText(message, options);
  if (extra === null) return content;
  return content === '' ? extra : `${content}${SEPARATOR}${extra}`;
}

/**
 * The text the blind keyword index covers for a sealed message (src/security/blind-index.ts): its
 * {@link searchableText}, so encrypted search finds what plaintext search finds.
 */
export function indexedText(
  content: string,
  parts?: readonly ChatPart[] | null,
  options: SearchableTextOptions = {},
): string {
  return searchableText({ content, parts }, options);
}
