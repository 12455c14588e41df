/**
 * The searchable text of a message: what chat.search finds words in, in clear (the generated
 * `search_vector`) and encrypted (the blind keyword index, see src/security/blind-index.ts).
 * Today the content; typed message parts add their text here.
 */
export function searchableText(content: string): string {
  return content;
}
