/**
 * How many leading characters of each message the full-text index covers (migration 0037:
 * `to_tsvector(language, left(content, 131072))`). PostgreSQL's tsvector holds at most 1 MiB of
 * distinct words; 131,072 characters are at most 512 KiB of UTF-8, so every message of any allowed
 * size (`chat.maxMessageBytes`) is stored whole and indexed up to here, never refused. Words after
 * this point are not found by `chat.search`. Snippets are cut from the same prefix.
 *
 * @example
 * <!-- snippet-preamble: declare const message: import('carebase').ChatMessage; -->
 * ```ts
 * import { SEARCH_INDEX_CHARS } from 'carebase';
 * const indexed = message.content.length <= SEARCH_INDEX_CHARS; // whole message searchable
 * ```
 */
export const SEARCH_INDEX_CHARS = 131_072;
