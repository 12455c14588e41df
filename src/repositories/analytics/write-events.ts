import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import { from as copyFrom } from 'pg-copy-streams';
import { qualifiedName } from '../../sql/identifier.js';
import { type CarebaseRuntime, type RepositoryContext, RuntimeState } from '../context.js';
import { type KnownMonths, monthKey, rememberMonths } from '../partition-months.js';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, binaryCopyRows } from './copy-binary.js';
import type { PreparedEvent } from './event-input.js';

/** Rows per `INSERT ... SELECT FROM unnest(...)` statement (7 parameters each, whatever the size). */
const UNNEST_CHUNK = 10_000;
/** Rows per buffer written to the COPY stream (about 100 bytes each). */
const COPY_CHUNK = 4_000;

/** Months (UTC) known to have a committed partition, per carebase instance. */
const KNOWN_MONTHS = new RuntimeState<KnownMonths>('analytics partition months', () => new Set<string>());

/** Forgets the cached partition months (after retention dropped some). */
export function forgetKnownPartitions(runtime: CarebaseRuntime): void {
  runtime.state(KNOWN_MONTHS).clear();
}

/**
 * Creates the monthly partitions the events need, so an insert never fails for want of one,
 * through the owner's `analytics_ensure_partitions()` (SECURITY DEFINER: the app role needs no
 * DDL) on the caller's own connection. Months are cached per instance once known to be committed
 * (see `rememberMonths`).
 */
export async function ensureEventPartitions(
  ctx: RepositoryContext,
  events: readonly PreparedEvent[],
): Promise<void> {
  await ensureMonthPartitions(
    ctx,
    events.map((event) => event.occurredAt),
  );
}

/** {@link ensureEventPartitions} for the months of `dates`. */
async function ensureMonthPartitions(ctx: RepositoryContext, dates: Iterable<Date>): Promise<void> {
  const months = ctx.runtime.state(KNOWN_MONTHS);
  const missing = new Map<string, Date>();
  for (const date of dates) {
    const key = monthKey(date);
    if (!months.has(key) && !missing.has(key)) missing.set(key, date);
  }
  if (missing.size === 0) return;
  const fn = sql.id(ctx.config.schema, 'analytics_ensure_partitions');
  for (const [key, at] of missing) {
    const { rows } = await sql<{ created: number }>`select ${fn}(${at}, 0) as created`.execute(ctx.db);
    rememberMonths(ctx, months, [key], rows[0]?.created ?? 0);
  }
}

function* preparedChunks(events: readonly PreparedEvent[]): Generator<Buffer> {
  yield BINARY_COPY_HEADER;
  for (let start = 0; start < events.length; start += COPY_CHUNK) {
    yield binaryCopyRows(events, start, Math.min(events.length, start + COPY_CHUNK));
  }
  yield BINARY_COPY_TRAILER;
}

/** Why a COPY was aborted on purpose; never carries the reason, which is rethrown locally. */
const REFUSED = 'carebase: analytics batch refused';

/** The rows of a batch prepared chunk by chunk; see {@link copyPreparingEvents}. */
function* preparingChunks(
  count: number,
  prepareAt: (index: number) => PreparedEvent | undefined,
  state: { written: number; refusal?: unknown },
): Generator<Buffer> {
  yield BINARY_COPY_HEADER;
  const chunk: PreparedEvent[] = [];
  for (let index = 0; index < count; index++) {
    let event: PreparedEvent | undefined;
    try {
      event = prepareAt(index);
    } catch (error) {
      state.refusal = error;
      throw new Error(REFUSED); // sent to the server as the CopyFail reason: no details
    }
    if (event !== undefined) chunk.push(event);
    if (chunk.length === COPY_CHUNK || (index === count - 1 && chunk.length > 0)) {
      yield binaryCopyRows(chunk, 0, chunk.length);
      state.written += chunk.length;
      chunk.length = 0;
    }
  }
  yield BINARY_COPY_TRAILER;
}

/** Runs one binary-format COPY of `chunks` on a pooled connection; atomic (one statement). */
async function copyChunks(ctx: RepositoryContext, chunks: Iterable<Buffer>): Promise<void> {
  const table = qualifiedName(ctx.config.schema, 'analytics_events');
  const connection = await ctx.runtime.connections.connect();
  try {
    const stream = connection.stream(
      copyFrom(
        `COPY ${table} (occurred_at, user_id, session_id, event_type, event_name, data, measures) FROM STDIN (FORMAT binary)`,
      ),
    );
    await pipeline(Readable.from(chunks), stream);
  } catch (error) {
    // Anything but a server error (e.g. a refused batch) may leave the connection mid-protocol.
    throw connection.failure(error, !(error instanceof Error && 'severity' in error));
  } finally {
    connection.release();
  }
}

/**
 * Writes prepared events with one binary-format COPY on a pooled connection. The COPY is a single
 * statement, so it is atomic: a failure writes nothing.
 */
export async function copyEvents(ctx: RepositoryContext, events: readonly PreparedEvent[]): Promise<void> {
  await copyChunks(ctx, preparedChunks(events));
}

/**
 * Validates and writes a large batch (outside a transaction) with one binary-format COPY,
 * preparing each chunk of rows while the server still copies the previous ones, so validation
 * overlaps the server's work instead of preceding it. `prepareAt(i)` returns event `i` prepared,
 * `undefined` to leave it out, or throws to refuse the whole batch: the COPY is then aborted (it
 * writes nothing) and that error is rethrown unchanged; the server only sees a fixed CopyFail
 * reason. The partitions for `dates` (the months the batch may write) are created first.
 * Returns the number of rows written.
 */
export async function copyPreparingEvents(
  ctx: RepositoryContext,
  count: number,
  dates: Iterable<Date>,
  prepareAt: (index: number) => PreparedEvent | undefined,
): Promise<number> {
  await ensureMonthPartitions(ctx, dates);
  const state: { written: number; refusal?: unknown } = { written: 0 };
  try {
    await copyChunks(ctx, preparingChunks(count, prepareAt, state));
  } catch (error) {
    if ('refusal' in state) throw state.refusal;
    throw error;
  }
  return state.written;
}

/** Writes prepared events with `INSERT ... SELECT FROM unnest(...)`, chunked, on `ctx.db`. */
export async function insertEventsUnnest(
  ctx: RepositoryContext,
  events: readonly PreparedEvent[],
): Promise<void> {
  const table = sql.id(ctx.config.schema, 'analytics_events');
  for (let start = 0; start < events.length; start += UNNEST_CHUNK) {
    const chunk = events.slice(start, start + UNNEST_CHUNK);
    await sql`insert into ${table} (occurred_at, user_id, session_id, event_type, event_name, data, measures)
      select * from unnest(
        ${chunk.map((e) => e.occurredAt.toISOString())}::timestamptz[],
        ${chunk.map((e) => e.userId)}::uuid[],
        ${chunk.map((e) => e.sessionId)}::text[],
        ${chunk.map((e) => e.eventType)}::text[],
        ${chunk.map((e) => e.eventName)}::text[],
        ${chunk.map((e) => e.data)}::jsonb[],
        ${chunk.map((e) => e.measures)}::jsonb[])`.execute(ctx.db);
  }
}

/**
 * Writes prepared events the fastest way available: COPY for large batches outside a transaction
 * (measured fastest in bench/analytics.bench.ts), else chunked unnest inserts on the scope's
 * executor (inside `cb.transaction()` they join the transaction, and several chunks are atomic
 * through `ctx.atomic`).
 */
export async function writeEvents(ctx: RepositoryContext, events: readonly PreparedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await ensureEventPartitions(ctx, events);
  // PostgreSQL refuses COPY FROM into a table under row-level security: `rls: true` inserts.
  if (!ctx.inTransaction && !ctx.config.rls && events.length >= ctx.config.analytics.copyThreshold) {
    await copyEvents(ctx, events);
    return;
  }
  if (events.length <= UNNEST_CHUNK) {
    await ctx.scoped((tx) => insertEventsUnnest(tx, events));
    return;
  }
  await ctx.atomic((tx) => insertEventsUnnest(tx, events));
}
