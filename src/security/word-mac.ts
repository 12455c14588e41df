/**
 * HMAC-SHA256 of short inputs (blind-index words), computed in JavaScript from the key's inner and
 * outer SHA-256 states, for the first 8 bytes of the MAC only. Byte for byte what
 * `createHmac('sha256', key).update(word, 'utf8').digest()` gives (test/security/word-mac.test.ts
 * compares them), at a third of the cost for a word: node:crypto spends ~2.5 µs a call building an
 * HMAC context, while a word takes two SHA-256 compressions (~0.4 µs each) once the key's two
 * padded blocks are compressed, which {@link wordMacKey} does once per key.
 *
 * The states are key material (from them, anyone can compute the MAC): they are kept only in the
 * {@link WordMacKey} of a data key (itself a `KeyObject`), never logged or serialized. SHA-256 has no secret-dependent branches or table lookups, so the JavaScript form
 * leaks no more timing than the native one.
 */

/** SHA-256's round constants. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256's initial state. */
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** The message schedule, reused by every compression (never shared across awaits: all sync). */
const W = new Int32Array(64);

/** Compresses the 64-byte block `block[offset...]` into `state` (8 words), in place. */
function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    W[i] =
      ((block[j] as number) << 24) |
      ((block[j + 1] as number) << 16) |
      ((block[j + 2] as number) << 8) |
      (block[j + 3] as number);
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15] as number;
    const w2 = W[i - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0;
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + (K[i] as number) + (W[i] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] as number) + a) | 0;
  state[1] = ((state[1] as number) + b) | 0;
  state[2] = ((state[2] as number) + c) | 0;
  state[3] = ((state[3] as number) + d) | 0;
  state[4] = ((state[4] as number) + e) | 0;
  state[5] = ((state[5] as number) + f) | 0;
  state[6] = ((state[6] as number) + g) | 0;
  state[7] = ((state[7] as number) + h) | 0;
}

/** A key's SHA-256 states after its inner (ipad) and outer (opad) blocks. */
export interface WordMacKey {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

/**
 * The inner and outer states of an HMAC-SHA256 key of at most 64 bytes (carebase's are 32). The
 * caller clears `bytes` afterwards.
 */
export function wordMacKey(bytes: Uint8Array): WordMacKey {
  const pad = new Uint8Array(64);
  try {
    if (bytes.length > 64) throw new RangeError('word MAC keys are at most 64 bytes');
    const state = (fill: number): Int32Array => {
      pad.fill(fill);
      for (let i = 0; i < bytes.length; i++) pad[i] = (bytes[i] as number) ^ fill;
      const s = IV.slice();
      compress(s, pad, 0);
      return s;
    };
    return { inner: state(0x36), outer: state(0x5c) };
  } finally {
    pad.fill(0);
  }
}

/** The shared message buffer: a word's UTF-8 bytes, padding and length (cleared after each word). */
let shared = new Uint8Array(128);
/** The largest shared buffer kept: a longer word gets a buffer of its own, dropped after use. */
const KEPT_BYTES = 4_096;
/** The outer hash's one block: the inner digest, padding and the length (64 + 32 bytes, in bits). */
const OUTER = new Uint8Array(64);
OUTER[32] = 0x80;
OUTER[62] = 0x03; // 768 bits (0x0300)
const STATE = new Int32Array(8);
const encoder = new TextEncoder();

/** A buffer for a word of `chars` UTF-16 units: up to 3 bytes each, plus a block of padding. */
function bufferFor(chars: number): Uint8Array {
  const need = chars * 3 + 72;
  if (need <= shared.length) return shared;
  const buffer = new Uint8Array(need);
  if (need <= KEPT_BYTES) shared = buffer;
  return buffer;
}

/** The word's UTF-8 bytes into `message` from 0; returns their length. */
function encode(word: string, message: Uint8Array): number {
  const n = word.length;
  for (let i = 0; i < n; i++) {
    const code = word.charCodeAt(i);
    if (code >= 0x80) return encoder.encodeInto(word, message).written;
    message[i] = code;
  }
  return n;
}

/**
 * The first 8 bytes of HMAC-SHA256(key, UTF-8 of `word`), read as a signed 64-bit big-endian
 * integer, in decimal.
 */
export function wordMac(key: WordMacKey, word: string): string {
  const message = bufferFor(word.length);
  const length = encode(word, message);
  // Padding: 0x80, zeros, then the bit length of ipad block + message, in the last 8 bytes.
  const end = Math.ceil((length + 9) / 64) * 64;
  message[length] = 0x80;
  message.fill(0, length + 1, end - 4);
  const bits = (64 + length) * 8;
  message[end - 4] = bits >>> 24;
  message[end - 3] = bits >>> 16;
  message[end - 2] = bits >>> 8;
  message[end - 1] = bits;
  STATE.set(key.inner);
  for (let offset = 0; offset < end; offset += 64) compress(STATE, message, offset);
  // The word is not left behind in the shared buffer.
  message.fill(0, 0, end);
  for (let i = 0; i < 8; i++) {
    const v = STATE[i] as number;
    OUTER[i * 4] = v >>> 24;
    OUTER[i * 4 + 1] = v >>> 16;
    OUTER[i * 4 + 2] = v >>> 8;
    OUTER[i * 4 + 3] = v;
  }
  STATE.set(key.outer);
  compress(STATE, OUTER, 0);
  const high = STATE[0] as number;
  const low = STATE[1] as number;
  return ((BigInt(high) << 32n) | BigInt(low >>> 0)).toString();
}
