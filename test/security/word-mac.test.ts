import { createHmac, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveIndexKey, textTokens, wordToken } from '../../src/security/blind-index.js';
import { wordMac, wordMacKey } from '../../src/security/word-mac.js';

/**
 * The blind index's word MAC is computed in JavaScript (src/security/word-mac.ts): it must stay
 * byte for byte the HMAC-SHA256 node:crypto computes, or tokens stored before would no longer
 * match (search would silently miss sealed messages).
 */
function reference(key: Uint8Array, word: string): string {
  return createHmac('sha256', key).update(word, 'utf8').digest().readBigInt64BE(0).toString();
}

/** Words of every padding case (0 to 200 bytes, across the 55/56 and 119/120 block edges) and script. */
function words(): string[] {
  const list = ['', 'a', 'patient', 'café', 'naïve', '日本語', '😀', 'x\u0000y', 'ﬁ', '\u{10ffff}'];
  for (let n = 0; n <= 200; n++) list.push('w'.repeat(n));
  // Past the shared buffer's size (a buffer of its own), then short again.
  list.push('long'.repeat(1_500), 'é'.repeat(1_400), 'short');
  for (let n = 1; n <= 70; n++) list.push('é'.repeat(n), '語'.repeat(n));
  for (let i = 0; i < 500; i++) list.push(randomBytes(1 + (i % 150)).toString('latin1'));
  for (let i = 0; i < 200; i++) list.push(randomBytes(2 + (i % 60)).toString('utf16le'));
  return list;
}

describe('the blind index word MAC', () => {
  it('equals node:crypto HMAC-SHA256 (first 8 bytes, signed) for every word length and script', () => {
    for (const length of [1, 16, 32, 64]) {
      const key = randomBytes(length);
      const mac = wordMacKey(key);
      for (const word of words()) expect(wordMac(mac, word), JSON.stringify(word)).toBe(reference(key, word));
    }
  });

  it('refuses keys over one block', () => {
    expect(() => wordMacKey(randomBytes(65))).toThrow(RangeError);
  });

  it('tokens are HMAC-SHA256 under HKDF(data key, owner, version), as stored before', () => {
    const dataKeyBytes = randomBytes(32);
    const userId = '00000000-0000-4000-8000-000000000001';
    const indexKey = new Uint8Array(
      hkdfSync('sha256', dataKeyBytes, Buffer.alloc(0), `carebase.blind-index.v1:${userId}:3`, 32),
    );
    const derived = deriveIndexKey(createSecretKey(dataKeyBytes), userId, 3);
    for (const word of ['amoxicillin', 'dose', 'écart', '20']) {
      expect(wordToken(derived, word)).toBe(reference(indexKey, word));
    }
    expect(textTokens(derived, 'The dose: amoxicillin, dose 20')).toEqual(
      ['dose', 'amoxicillin', '20'].map((word) => reference(indexKey, word)),
    );
  });
});
