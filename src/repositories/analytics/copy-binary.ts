import type { PreparedEvent } from './event-input.js';

/** The binary COPY header: `PGCOPY\n\377\r\n\0`, then 32-bit flags and extension length, both 0. */
export const BINARY_COPY_HEADER: Buffer = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** The binary COPY trailer: a 16-bit field count of -1. */
export const BINARY_COPY_TRAILER: Buffer = Buffer.from([0xff, 0xff]);
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 2 ** 32;
/** Value of each hex digit by char code (the ids were validated as UUIDs). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x61 + i] = 10 + i;
  HEX[0x41 + i] = 10 + i;
}

/** Field count, timestamptz and uuid with their lengths, five more length words, two jsonb versions. */
const FIXED_ROW_BYTES = 2 + (4 + 8) + (4 + 16) + 5 * 4 + 2;

function writeText(buffer: Buffer, at: number, value: string): number {
  const length = buffer.write(value, at + 4, 'utf8');
  buffer.writeInt32BE(length, at);
  return at + 4 + length;
}

/** A jsonb field: its length, version 1, the JSON text; or NULL. */
function writeJsonb(buffer: Buffer, at: number, json: string | null): number {
  if (json === null) {
    buffer.writeInt32BE(-1, at);
    return at + 4;
  }
  const length = buffer.write(json, at + 5, 'utf8');
  buffer.writeInt32BE(length + 1, at);
  buffer[at + 4] = 1;
  return at + 5 + length;
}

/**
 * The binary COPY tuples (`occurred_at timestamptz, user_id uuid, session_id text, event_type
 * text, event_name text, data jsonb, measures jsonb`) of `events[start..end)`: no text escaping on this side, and
 * no timestamp or UUID parsing on the server (measured 1.2x faster than text COPY in
 * bench/analytics.bench.ts). Timestamps are microseconds since 2000-01-01 UTC, exact for every
 * `Date` (written as two 32-bit halves, so no precision is lost above 2^53); `data` is jsonb
 * version 1, i.e. its JSON text.
 */
export function binaryCopyRows(events: readonly PreparedEvent[], start: number, end: number): Buffer {
  let bound = 0;
  for (let i = start; i < end; i++) {
    const e = events[i] as PreparedEvent;
    bound +=
      FIXED_ROW_BYTES +
      3 *
        ((e.sessionId?.length ?? 0) +
          e.eventType.length +
          e.eventName.length +
          (e.data?.length ?? 0) +
          (e.measures?.length ?? 0));
  }
  const buffer = Buffer.allocUnsafe(bound);
  let at = 0;
  for (let i = start; i < end; i++) {
    const e = events[i] as PreparedEvent;
    buffer.writeInt16BE(7, at);
    // occurred_at: ms * 1000 as a signed 64-bit integer, from 32-bit halves of ms.
    const ms = e.occurredAt.getTime() - PG_EPOCH_MS;
    const high = Math.floor(ms / TWO_32);
    const low = (ms - high * TWO_32) * 1000;
    const carry = Math.floor(low / TWO_32);
    buffer.writeInt32BE(8, at + 2);
    buffer.writeInt32BE(high * 1000 + carry, at + 6);
    buffer.writeUInt32BE(low - carry * TWO_32, at + 10);
    at += 14;
    const userId = e.userId;
    if (userId === null) {
      buffer.writeInt32BE(-1, at);
      at += 4;
    } else {
      buffer.writeInt32BE(16, at);
      at += 4;
      for (let c = 0; c < 36; c += 2) {
        if (c === 8 || c === 13 || c === 18 || c === 23) c++;
        buffer[at++] = ((HEX[userId.charCodeAt(c)] ?? 0) << 4) | (HEX[userId.charCodeAt(c + 1)] ?? 0);
      }
    }
    if (e.sessionId === null) {
      buffer.writeInt32BE(-1, at);
      at += 4;
    } else {
      at = writeText(buffer, at, e.sessionId);
    }
    at = writeText(buffer, at, e.eventType);
    at = writeText(buffer, at, e.eventName);
    at = writeJsonb(buffer, at, e.data);
    at = writeJsonb(buffer, at, e.measures);
  }
  return buffer.subarray(0, at);
}
