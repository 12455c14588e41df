import { isIndexedWord, normalizedWords } from '../../security/blind-index.js';

/**
 * chat.search's query language over encrypted messages, the websearch_to_tsquery syntax the clear
 * search accepts: words (all must occur), `"quoted phrases"` (the words next to each other, in
 * order), `-word` / `-"phrase"` (must not occur), and `or` between alternatives. Words are
 * normalized like the blind index (src/security/blind-index.ts): exact words after folding, no
 * stemming. Stop words are not looked up but count in phrases.
 */

/** One alternative of a query: every `required` sequence occurs, no `excluded` one does. */
export interface BlindAlternative {
  /** Word sequences that must occur (a single word is a sequence of one). */
  readonly required: readonly (readonly string[])[];
  readonly excluded: readonly (readonly string[])[];
  /** The distinct indexed words of `required`: what the blind index is asked for. */
  readonly indexed: readonly string[];
}

const TERM = /(-?)(?:"([^"]*)"?|(\S+))/g;

/** The alternatives of `query`; those with no indexed word (only stop words, only exclusions) match nothing and are left out. */
export function parseBlindQuery(query: string): BlindAlternative[] {
  const alternatives: BlindAlternative[] = [];
  let required: string[][] = [];
  let excluded: string[][] = [];
  const close = () => {
    const indexed = [...new Set(required.flat().filter(isIndexedWord))];
    if (indexed.length > 0) alternatives.push({ required, excluded, indexed });
    required = [];
    excluded = [];
  };
  for (const match of query.matchAll(TERM)) {
    const [, minus, quoted, bare] = match;
    if (quoted === undefined && minus === '' && bare?.toLowerCase() === 'or') {
      close();
      continue;
    }
    const words = normalizedWords(quoted ?? bare ?? '');
    if (words.length === 0) continue;
    (minus === '-' ? excluded : required).push(words);
  }
  close();
  return alternatives;
}

/** Whether `sequence` occurs in `words` as consecutive words. */
function occurs(words: readonly string[], sequence: readonly string[]): boolean {
  const [first] = sequence;
  for (let i = words.indexOf(first as string); i !== -1; i = words.indexOf(first as string, i + 1)) {
    let j = 1;
    while (j < sequence.length && words[i + j] === sequence[j]) j++;
    if (j === sequence.length) return true;
  }
  return false;
}

/** Whether a message's normalized `words` satisfy one of `alternatives`. */
export function matchesBlindQuery(
  words: readonly string[],
  alternatives: readonly BlindAlternative[],
): boolean {
  return alternatives.some(
    (alternative) =>
      alternative.required.every((sequence) => occurs(words, sequence)) &&
      !alternative.excluded.some((sequence) => occurs(words, sequence)),
  );
}

/**
 * The rank of a matching message: occurrences of the query's indexed words, damped by the
 * message's length (a short message that is about the words ranks above a long one that mentions
 * them), rounded to 6 significant digits so the rank's text is exact in a cursor.
 */
export function blindRank(words: readonly string[], queryWords: ReadonlySet<string>): number {
  let hits = 0;
  for (const word of words) if (queryWords.has(word)) hits++;
  return Number((hits / Math.log2(2 + words.length)).toPrecision(6));
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;
const BEFORE = 5;
const FRAGMENT_WORDS = 20;

/**
 * A snippet like the clear search's ts_headline: up to two fragments of up to 20 words around the
 * matches, matched words wrapped in `<b>...</b>`, fragments joined by ` ... ` (not HTML-escaped).
 */
export function blindSnippet(text: string, queryWords: ReadonlySet<string>): string {
  const spans = [...text.matchAll(WORD)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    hit: normalizedWords(m[0]).some((word) => queryWords.has(word)),
  }));
  if (spans.length === 0) return '';
  const starts: number[] = [];
  for (let i = 0; i < spans.length && starts.length < 2; i++) {
    const last = starts.at(-1);
    if (spans[i]?.hit === true && (last === undefined || i >= last + FRAGMENT_WORDS))
      starts.push(Math.max(0, i - BEFORE));
  }
  if (starts.length === 0) starts.push(0);
  return starts
    .map((from) => {
      const to = Math.min(spans.length, from + FRAGMENT_WORDS) - 1;
      let out = '';
      let at = (spans[from] as { start: number }).start;
      for (let i = from; i <= to; i++) {
        const span = spans[i] as { start: number; end: number; hit: boolean };
        out += text.slice(at, span.start);
        const word = text.slice(span.start, span.end);
        out += span.hit ? `<b>${word}</b>` : word;
        at = span.end;
      }
      return out;
    })
    .join(' ... ');
}
