import { SEARCH_INDEX_CHARS } from './search-index-limit.js';

/**
 * The searchable text of a message: what chat.search finds words in, in clear (the generated
 * `search_vector`) and encrypted (the blind keyword index, see src/security/blind-index.ts).
 * Today the content; typed message parts add their text here.
 */
export function searchableText(content: string): string {
  return content;
}

/** The part of a message's searchable text that is indexed (and snippeted): its first `SEARCH_INDEX_CHARS` characters. */
export function indexedText(content: string): string {
  const text = searchableText(content);
  return text.length > SEARCH_INDEX_CHARS ? text.slice(0, SEARCH_INDEX_CHARS) : text;
}
