/**
 * Rows in PostgreSQL's binary COPY format, for staging tables: `BinaryCopyWriter` appends fields
 * (text, int4, timestamptz, uuid, NULL) to a growing buffer and hands it out in chunks. No text
 * escaping on this side and no parsing of timestamps or UUIDs on the server.
 */

/** The binary COPY header: `PGCOPY\n\377\r\n\0`, then 32-bit flags and extension length, both 0. */
const HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** The trailer: a 16-bit field count of -1. */
const TRAILER = Buffer.from([0xff, 0xff]);
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;
/** Chunks handed to the COPY stream are about this large. */
const CHUNK_BYTES = 1 << 20;

/**
 * Writes binary COPY rows. Call {@link BinaryCopyWriter.row} with the field count, then one
 * field method per column; iterate {@link BinaryCopyWriter.chunks} for header, rows and trailer.
 *
 * @example
 * ```ts
 * const writer = new BinaryCopyWriter();
 * writer.row(2).int4(1).text('hello');
 * await db.executeQuery(copyInQuery('COPY t (n, s) FROM STDIN (FORMAT binary)', writer.chunks()));
 * ```
 */
export class BinaryCopyWriter {
  #buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #at = 0;
  readonly #done: Buffer[] = [HEADER];

  #room(bytes: number): void {
    if (this.#at + bytes <= this.#buffer.length) return;
    if (this.#at > 0) this.#done.push(this.#buffer.subarray(0, this.#at));
    this.#buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.#at = 0;
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): this {
    this.#room(2);
    this.#buffer.writeInt16BE(fields, this.#at);
    this.#at += 2;
    return this;
  }

  /** A NULL field. */
  null(): this {
    this.#room(4);
    this.#buffer.writeInt32BE(-1, this.#at);
    this.#at += 4;
    return this;
  }

  /** A text field (UTF-8), or NULL. */
  text(value: string | null | undefined): this {
    if (value === null || value === undefined) return this.null();
    this.#room(4 + value.length * 3);
    const length = this.#buffer.write(value, this.#at + 4, 'utf8');
    this.#buffer.writeInt32BE(length, this.#at);
    this.#at += 4 + length;
    return this;
  }

  /** An int4 field. */
  int4(value: number): this {
    this.#room(8);
    this.#buffer.writeInt32BE(4, this.#at);
    this.#buffer.writeInt32BE(value, this.#at + 4);
    this.#at += 8;
    return this;
  }

  /** A timestamptz field (microseconds since 2000-01-01 UTC, exact for every Date), or NULL. */
  timestamptz(value: Date | null | undefined): this {
    if (value === null || value === undefined) return this.null();
    this.#room(12);
    const ms = value.getTime() - PG_EPOCH_MS;
    const high = Math.floor(ms / TWO_32);
    const low = (ms - high * TWO_32) * 1000;
    const carry = Math.floor(low / TWO_32);
    this.#buffer.writeInt32BE(8, this.#at);
    this.#buffer.writeInt32BE(high * 1000 + carry, this.#at + 4);
    this.#buffer.writeUInt32BE(low - carry * TWO_32, this.#at + 8);
    this.#at += 12;
    return this;
  }

  /** A uuid field from its canonical text (already validated), or NULL. */
  uuid(value: string | null | undefined): this {
    if (value === null || value === undefined) return this.null();
    this.#room(20);
    this.#buffer.writeInt32BE(16, this.#at);
    this.#buffer.write(value.replaceAll('-', ''), this.#at + 4, 'hex');
    this.#at += 20;
    return this;
  }

  /** Header, rows and trailer, as written so far. */
  *chunks(): Generator<Buffer> {
    yield* this.#done;
    if (this.#at > 0) yield this.#buffer.subarray(0, this.#at);
    yield TRAILER;
  }
}
