/**
 * An imported password hash that carebase cannot use: its shape or parameters are wrong. The
 * message says what is wrong without ever quoting the hash. Repositories turn it into a
 * `ValidationError` at the field that held the hash.
 */
export class HashFormatError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'HashFormatError';
  }
}
