import type { KeyObject } from 'node:crypto';
import { deriveIndexKey, textTokens, wordToken } from '../../security/blind-index.js';
import type { WordMacKey } from '../../security/word-mac.js';
import type { UserKeys } from './data-keys.js';

/**
 * The blind keyword index of sealed messages (docs/encryption.md, "Search"): each data key version
 * of a user has an index key derived from it (so erasing or rotating the data key destroys or
 * changes the index key with it), and a message's tokens are made with the index key of the
 * version it is sealed with.
 */

/** Index keys by the data key they derive from (derived once per unwrapped key). */
const INDEX_KEYS = new WeakMap<KeyObject, WordMacKey>();

/** The index key of `userId`'s data key `version`. */
export function indexKeyOf(userId: string, version: number, dataKey: KeyObject): WordMacKey {
  let indexKey = INDEX_KEYS.get(dataKey);
  if (indexKey === undefined) {
    indexKey = deriveIndexKey(dataKey, userId, version);
    INDEX_KEYS.set(dataKey, indexKey);
  }
  return indexKey;
}

/**
 * The `search_tokens` value of a message sealed under `keys.current`: a PostgreSQL array literal of
 * the tokens of the indexed words of `text` (the caller passes the searchable text's indexed
 * prefix, the one plaintext search indexes too).
 */
export function sealedTokens(keys: UserKeys, userId: string, text: string): string {
  const { version, key } = keys.current;
  return `{${textTokens(indexKeyOf(userId, version, key), text).join(',')}}`;
}

/**
 * The tokens of `words` under each of `userId`'s data key versions (rows sealed under an older
 * version, during a data key rotation, carry that version's tokens).
 */
export function queryTokens(keys: UserKeys, userId: string, words: readonly string[]): string[][] {
  return [...keys.byVersion].map(([version, key]) => {
    const indexKey = indexKeyOf(userId, version, key);
    return words.map((word) => wordToken(indexKey, word));
  });
}
