import { hkdfSync, type KeyObject } from 'node:crypto';
import { type WordMacKey, wordMac, wordMacKey } from './word-mac.js';

/**
 * The blind keyword index (docs/encryption.md, "Search"): words are normalized here, then each
 * distinct word becomes a token, the first 8 bytes of HMAC-SHA256(index key, word) read as a
 * signed 64-bit integer (a `bigint` column element, carried as a decimal string). Equal words under
 * one index key give equal tokens; nothing else about a word can be read from its token.
 */

/** Words carebase leaves out of the blind index and out of queries (common English function words). */
export const BLIND_INDEX_STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be but by for from has have he her his i if in into is it its me my no not of ' +
    'on or our she so than that the their them then there these they this to was we were what when ' +
    'which who will with you your'
  ).split(' '),
);

const COMBINING_MARKS = /\p{M}+/gu;
const NOT_WORD = /[^\p{L}\p{N}]+/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range starts at U+0000
const ASCII = /^[\u0000-\u007f]*$/;

/**
 * The normalized words of `text`, in order, stop words included: NFKC, lower case, accents
 * removed (NFD then combining marks dropped, so `Café` and `cafe` match), split on every character
 * that is not a letter or a digit.
 */
export function normalizedWords(text: string): string[] {
  // ASCII text (most chat turns) is already NFKC and NFD: only lower-cased and split.
  const folded = ASCII.test(text)
    ? text.toLowerCase()
    : text.normalize('NFKC').toLowerCase().normalize('NFD').replace(COMBINING_MARKS, '');
  const words = folded.split(NOT_WORD);
  if (words[0] === '') words.shift();
  if (words.at(-1) === '') words.pop();
  return words;
}

/** Whether `word` (normalized) is indexed: not a stop word. */
export function isIndexedWord(word: string): boolean {
  return !BLIND_INDEX_STOP_WORDS.has(word);
}

/**
 * The index key of a data key: HKDF-SHA256 of its bytes, bound to its owner and version, held as
 * its HMAC states (src/security/word-mac.ts).
 */
export function deriveIndexKey(dataKey: KeyObject, userId: string, version: number): WordMacKey {
  const bytes = dataKey.export();
  let derived: Uint8Array | undefined;
  try {
    derived = new Uint8Array(
      hkdfSync('sha256', bytes, Buffer.alloc(0), `carebase.blind-index.v1:${userId}:${version}`, 32),
    );
    return wordMacKey(derived);
  } finally {
    bytes.fill(0);
    derived?.fill(0);
  }
}

/**
 * The token of one normalized word under `indexKey`, as a decimal string: the first 8 bytes of
 * HMAC-SHA256(index key, word).
 */
export function wordToken(indexKey: WordMacKey, word: string): string {
  return wordMac(indexKey, word);
}

/** The distinct tokens of the indexed words of `text`. */
export function textTokens(indexKey: WordMacKey, text: string): string[] {
  const words = new Set(normalizedWords(text));
  const tokens: string[] = [];
  for (const word of words) if (isIndexedWord(word)) tokens.push(wordToken(indexKey, word));
  return tokens;
}
