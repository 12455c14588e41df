import { sql } from 'kysely';
import type { z } from 'zod';
import { copyInQuery } from '../../pool/copy-in.js';
import { BinaryCopyWriter } from '../../sql/binary-copy.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { ImportMessageRowSchema } from './import-inputs.js';
import { type ImportReport, ReportBuilder, rowPath } from './import-report.js';
import { type ReadRow, RowReader } from './read-rows.js';

/** A message row that passed validation. */
type ParsedMessageRow = z.output<typeof ImportMessageRowSchema>;

/** The staging table of one batch: temporary, dropped at commit, never WAL-logged. */
const STAGE = 'carebase_import_messages';
/**
 * The newest imported message of each conversation a call wrote to, gathered over its ranges
 * (temporary too), so each conversation's `last_message_at` is written once per call, not once
 * per range.
 */
const TOUCHED = 'carebase_import_touched';
/** work_mem of an import transaction: a range (at most MAX_RANGE rows) sorts in memory. */
const SORT_MEMORY = '64MB';
/**
 * The rows of a call are validated, encoded and moved in ranges (a call's rows take about 6 µs
 * each to validate and encode in JavaScript, about a tenth of the time of their insert), so that
 * this work for one range runs while the database inserts the one before it. The ranges are at
 * most MAX_RANGE rows, and a call of fewer than eight ranges' worth is cut in eight (at least
 * MIN_RANGE rows each). The first range, which nothing hides, is a quarter of the others.
 */
const MAX_RANGE = 12_500;
const MIN_RANGE = 2_000;

/** The start of each range of a call of `count` rows, then `count` (see {@link MAX_RANGE}). */
function rangeBounds(count: number): number[] {
  const size = Math.min(MAX_RANGE, Math.max(MIN_RANGE, Math.ceil(count / 8)));
  const bounds = [0];
  for (let at = Math.min(count, Math.ceil(size / 4)); at < count; at += size) bounds.push(at);
  bounds.push(count);
  return bounds;
}

/**
 * A range of a call: the rows that passed validation, and their COPY data until it is sent (a
 * retried transaction encodes them again), so at most two ranges' COPY data are held at once.
 */
interface PreparedRange {
  readonly rows: readonly ReadRow<ParsedMessageRow>[];
  copy: BinaryCopyWriter | undefined;
}

/** Lets pending I/O go out (a statement just started is on the wire) before synchronous work. */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Imports messages in one transaction, at COPY speed: the rows are streamed with a binary COPY
 * into a temporary staging table on the transaction's own connection, then moved with one
 * `INSERT ... SELECT ... ON CONFLICT (user_id, import_source, external_id) DO NOTHING` that
 * resolves each conversation (by original or carebase id) and keeps the rows' order, and the
 * conversations' `last_message_at` is raised to their newest imported message. A long call goes
 * in ranges, in order, in the same transaction: while one range is inserted, the next is
 * validated. A rerun inserts nothing. Messages whose conversation does not exist are refused.
 */
export async function importMessages(
  ctx: RepositoryContext,
  input: { source: string; messages: readonly unknown[] },
): Promise<ImportReport> {
  const report = new ReportBuilder();
  const maxBytes = ctx.config.chat.maxMessageBytes;
  const reader = new RowReader(ImportMessageRowSchema, input.messages, 'messages', report, (row) => {
    if (Buffer.byteLength(row.content, 'utf8') > maxBytes) {
      return [['content'], `exceeds chat.maxMessageBytes (${maxBytes} UTF-8 bytes)`];
    }
    if (row.metadata !== undefined && Buffer.byteLength(JSON.stringify(row.metadata), 'utf8') > maxBytes) {
      return [['metadata'], `exceeds ${maxBytes} UTF-8 bytes`];
    }
    return undefined;
  });
  const bounds = rangeBounds(input.messages.length);
  const ranges = bounds.length - 1;
  // Each range is validated once, in order (its refusals go to the report then), and its rows are
  // kept for a retried transaction. The first is prepared before any SQL.
  const prepared: PreparedRange[] = [];
  const prepare = (k: number): PreparedRange => {
    for (let next = prepared.length; next <= k; next++) {
      const rows = reader.read(bounds[next] ?? 0, bounds[next + 1] ?? 0);
      prepared.push({ rows, copy: rows.length === 0 ? undefined : encodeRange(rows) });
    }
    return prepared[k] as PreparedRange;
  };
  prepare(0);
  let missing: ReadRow<ParsedMessageRow>[] = [];
  const inserted = await ctx.atomic(async (tx) => {
    missing = [];
    let count = 0;
    let staged = false;
    for (let k = 0; k < ranges; k++) {
      const range = prepare(k);
      const rows = range.rows;
      if (rows.length === 0) continue;
      const copy = range.copy ?? encodeRange(rows);
      range.copy = undefined;
      if (!staged) {
        await createStage(tx);
        staged = true;
      }
      await tx.db.executeQuery(
        copyInQuery(
          `copy pg_temp.${STAGE} (ord, external_id, conversation_external_id, conversation_id, role, content, metadata, created_at) from stdin (format binary)`,
          copy.chunks(),
        ),
      );
      // The next range is prepared while the database moves this one; both settle before the
      // next statement, and a failure of either fails the call (never goes unhandled).
      const [moved, next] = await Promise.allSettled([
        moveStaged(tx, input.source),
        k + 1 < ranges ? yieldToIo().then(() => prepare(k + 1)) : undefined,
      ]);
      if (moved.status === 'rejected') throw moved.reason;
      if (next.status === 'rejected') throw next.reason;
      count += moved.value.inserted;
      for (const ord of moved.value.missing ?? []) {
        const read = rows[ord];
        if (read !== undefined) missing.push(read);
      }
    }
    if (!staged) return 0;
    await touchConversations(tx);
    await recordAudit(tx, {
      action: 'import.messages',
      resourceType: 'chat_history',
      metadata: { source: input.source, read: input.messages.length, inserted: count },
    });
    return count;
  });
  for (const read of missing) {
    const field = read.row.conversationId !== undefined ? 'conversationId' : 'conversationExternalId';
    report.refuse(rowPath('messages', read.index, [field]), read.row.externalId, 'no such conversation');
  }
  return report.build('messages', input.source, input.messages.length, inserted);
}

/** The transaction's staging tables, and the sort memory of its moves. */
async function createStage(tx: RepositoryContext): Promise<void> {
  await sql
    .raw(
      `create temporary table if not exists ${STAGE} (ord int4, external_id text, conversation_external_id text, conversation_id uuid, role text, content text, metadata text, created_at timestamptz) on commit drop`,
    )
    .execute(tx.db);
  await sql
    .raw(
      `create temporary table if not exists ${TOUCHED} (user_id uuid, conversation_id uuid, latest timestamptz not null, primary key (user_id, conversation_id)) on commit drop`,
    )
    .execute(tx.db);
  // A range is sorted by ord in memory, not on disk (transaction-scoped: pooler-safe).
  await sql.raw(`set local work_mem = '${SORT_MEMORY}'`).execute(tx.db);
}

/** The COPY data of a range for the staging table; each row's ord is its position in `rows`. */
function encodeRange(rows: readonly ReadRow<ParsedMessageRow>[]): BinaryCopyWriter {
  const writer = new BinaryCopyWriter();
  rows.forEach(({ row }, ord) => {
    writer
      .row(8)
      .int4(ord)
      .text(row.externalId)
      .text(row.conversationExternalId)
      .uuid(row.conversationId)
      .text(row.role)
      .text(row.content)
      .text(row.metadata === undefined ? null : JSON.stringify(row.metadata))
      .timestamptz(row.createdAt);
  });
  return writer;
}

/**
 * Raises each written conversation's `last_message_at` to its newest imported message, once for
 * the whole call, and empties the list (a later import in the same caller transaction starts
 * afresh).
 */
async function touchConversations(tx: RepositoryContext): Promise<void> {
  const schema = quoteIdentifier(tx.config.schema);
  await sql
    .raw(
      `update ${schema}.conversations c set last_message_at = t.latest from pg_temp.${TOUCHED} t
      where c.user_id = t.user_id and c.id = t.conversation_id and c.last_message_at < t.latest`,
    )
    .execute(tx.db);
  await sql.raw(`truncate pg_temp.${TOUCHED}`).execute(tx.db);
}

/**
 * Moves the staged range in one pass that resolves each row's conversation once (the `resolved`
 * CTE is read twice, so PostgreSQL materializes it), inserts the rows with one in order, and
 * returns the count and the ords of the rows without one; then empties the staging table.
 */
async function moveStaged(
  tx: RepositoryContext,
  source: string,
): Promise<{ inserted: number; missing: number[] | null }> {
  const schema = quoteIdentifier(tx.config.schema);
  const conversations = sql.raw(`${schema}.conversations`);
  const stage = sql.raw(`pg_temp.${STAGE}`);
  const target = sql`left join ${conversations} byx
        on s.conversation_id is null and byx.import_source = ${source} and byx.external_id = s.conversation_external_id
      left join ${conversations} byid on s.conversation_id is not null and byid.id = s.conversation_id`;
  // Every row goes in whole: the full-text index covers the first SEARCH_INDEX_CHARS characters
  // of a message (migration 0037), so no content is too large for it.
  const result = await sql<{ inserted: number; missing: number[] | null }>`
      with resolved as (
        select s.ord, s.role, s.content, s.metadata, s.created_at, s.external_id,
          coalesce(byx.user_id, byid.user_id) as user_id, coalesce(byx.id, byid.id) as conversation_id
        from ${stage} s ${target}
      ), inserted as (
        insert into ${sql.raw(`${schema}.chat_messages`)} (user_id, conversation_id, role, content, metadata, language, created_at, import_source, external_id)
        select r.user_id, r.conversation_id, r.role, r.content, r.metadata::jsonb,
          ${tx.config.chat.searchLanguage}::regconfig, r.created_at, ${source}, r.external_id
        from resolved r
        where r.conversation_id is not null
        order by r.ord
        on conflict (user_id, import_source, external_id) where external_id is not null do nothing
        returning user_id, conversation_id, created_at
      ), touched as (
        insert into ${sql.raw(`pg_temp.${TOUCHED}`)} as t (user_id, conversation_id, latest)
        select user_id, conversation_id, max(created_at) from inserted group by 1, 2
        on conflict (user_id, conversation_id) do update set latest = greatest(t.latest, excluded.latest)
      )
      select (select count(*)::int from inserted) as inserted,
        (select array_agg(r.ord order by r.ord) from resolved r where r.conversation_id is null) as missing`.execute(
    tx.db,
  );
  await sql.raw(`truncate pg_temp.${STAGE}`).execute(tx.db);
  return result.rows[0] ?? { inserted: 0, missing: null };
}
