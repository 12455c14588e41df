import { timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two digests (false, without a timing signal, when lengths differ). */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
