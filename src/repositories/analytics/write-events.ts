import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { toCarebaseError } from '../../errors/map-error.js';
import type { CarebaseRuntime, RepositoryContext } from '../context.js';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, binaryCopyRows } from './copy-binary.js';
import type { PreparedEvent } from './event-input.js';

/** Rows per `INSERT ... SELECT FROM unnest(...)` statement (6 parameters each, whatever the size). */
const UNNEST_CHUNK = 10_000;
/** Rows per buffer written to the COPY stream (about 100 bytes each). */
const COPY_CHUNK = 4_000;

/** Months (UTC, `YYYY-MM`) known to have a partition, per carebase instance. */
const knownMonths = new WeakMap<CarebaseRuntime, Set<string>>();

function monthKey(date: Date): string {
  return `${date.getUTCFullYear()}-${date.getUTCMonth()}`;
}

/** Forgets the cached partition months (after retention dropped some). */
export function forgetKnownPartitions(runtime: CarebaseRuntime): void {
  knownMonths.delete(runtime);
}

/**
 * Creates the monthly partitions the events need, so an insert never fails for want of one.
 * Months are cached per instance only when created outside a transaction (a rolled-back
 * transaction would take its partitions with it).
 */
export async function ensureEventPartitions(
  ctx: RepositoryContext,
  events: readonly PreparedEvent[],
): Promise<void> {
  let months = knownMonths.get(ctx.runtime);
  if (months === undefined) {
    months = new Set();
    knownMonths.set(ctx.runtime, months);
  }
  const missing = new Map<string, Date>();
  for (const event of events) {
    const key = monthKey(event.occurredAt);
    if (!months.has(key) && !missing.has(key)) missing.set(key, event.occurredAt);
  }
  if (missing.size === 0) return;
  const fn = sql.id(ctx.config.schema, 'ensure_monthly_partitions');
  for (const [key, at] of missing) {
    await sql`select ${fn}('analytics_events', ${at}, 0)`.execute(ctx.db);
    if (!ctx.inTransaction) months.add(key);
  }
}

function* copyChunks(events: readonly PreparedEvent[]): Generator<Buffer> {
  yield BINARY_COPY_HEADER;
  for (let start = 0; start < events.length; start += COPY_CHUNK) {
    yield binaryCopyRows(events, start, Math.min(events.length, start + COPY_CHUNK));
  }
  yield BINARY_COPY_TRAILER;
}

/**
 * Writes prepared events with one binary-format COPY on a pooled connection. The COPY is a single
 * statement, so it is atomic: a failure writes nothing.
 */
export async function copyEvents(ctx: RepositoryContext, events: readonly PreparedEvent[]): Promise<void> {
  const table = `"${ctx.config.schema}".analytics_events`;
  let client: pg.PoolClient;
  try {
    client = await ctx.runtime.pool.connect();
  } catch (error) {
    throw toCarebaseError(error);
  }
  let broken = false;
  try {
    const stream = client.query(
      copyFrom(
        `COPY ${table} (occurred_at, user_id, session_id, event_type, event_name, data) FROM STDIN (FORMAT binary)`,
      ),
    );
    await pipeline(Readable.from(copyChunks(events)), stream);
  } catch (error) {
    broken = !(error instanceof Error && 'severity' in error);
    throw toCarebaseError(error);
  } finally {
    client.release(broken);
  }
}

/** Writes prepared events with `INSERT ... SELECT FROM unnest(...)`, chunked, on `ctx.db`. */
export async function insertEventsUnnest(
  ctx: RepositoryContext,
  events: readonly PreparedEvent[],
): Promise<void> {
  const table = sql.id(ctx.config.schema, 'analytics_events');
  for (let start = 0; start < events.length; start += UNNEST_CHUNK) {
    const chunk = events.slice(start, start + UNNEST_CHUNK);
    await sql`insert into ${table} (occurred_at, user_id, session_id, event_type, event_name, data)
      select * from unnest(
        ${chunk.map((e) => e.occurredAt.toISOString())}::timestamptz[],
        ${chunk.map((e) => e.userId)}::uuid[],
        ${chunk.map((e) => e.sessionId)}::text[],
        ${chunk.map((e) => e.eventType)}::text[],
        ${chunk.map((e) => e.eventName)}::text[],
        ${chunk.map((e) => e.data)}::jsonb[])`.execute(ctx.db);
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
  if (!ctx.inTransaction && events.length >= ctx.config.analytics.copyThreshold) {
    await copyEvents(ctx, events);
    return;
  }
  if (events.length <= UNNEST_CHUNK) {
    await insertEventsUnnest(ctx, events);
    return;
  }
  await ctx.atomic((tx) => insertEventsUnnest(tx, events));
}
