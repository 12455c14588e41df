import { sql } from 'kysely';
import { copyInQuery } from '../../pool/copy-in.js';
import { BinaryCopyWriter } from '../../sql/binary-copy.js';
import { quoteIdentifier } from '../../sql/identifier.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { ImportMessageRowSchema } from './import-inputs.js';
import { type ImportReport, ReportBuilder, rowPath } from './import-report.js';
import { readRows } from './read-rows.js';

/** The staging table of one batch: temporary, dropped at commit, never WAL-logged. */
const STAGE = 'carebase_import_messages';
/** work_mem of an import transaction: a batch of 100k ordinary messages sorts in memory. */
const SORT_MEMORY = '64MB';

/**
 * Imports messages in one transaction, at COPY speed: the rows are streamed with a binary COPY
 * into a temporary staging table on the transaction's own connection, then moved with one
 * `INSERT ... SELECT ... ON CONFLICT (user_id, import_source, external_id) DO NOTHING` that
 * resolves each conversation (by original or carebase id) and keeps the rows' order, and the
 * conversations' `last_message_at` is raised to their newest imported message. A rerun inserts
 * nothing. Messages whose conversation does not exist are refused.
 */
export async function importMessages(
  ctx: RepositoryContext,
  input: { source: string; messages: readonly unknown[] },
): Promise<ImportReport> {
  const report = new ReportBuilder();
  const maxBytes = ctx.config.chat.maxMessageBytes;
  const readable = readRows(ImportMessageRowSchema, input.messages, 'messages', report, (row) => {
    if (Buffer.byteLength(row.content, 'utf8') > maxBytes) {
      return [['content'], `exceeds chat.maxMessageBytes (${maxBytes} UTF-8 bytes)`];
    }
    if (row.metadata !== undefined && Buffer.byteLength(JSON.stringify(row.metadata), 'utf8') > maxBytes) {
      return [['metadata'], `exceeds ${maxBytes} UTF-8 bytes`];
    }
    return undefined;
  });
  const mark = report.refused.length;
  const inserted = await ctx.atomic(async (tx) => {
    report.rollbackTo(mark);
    // Every row goes in whole: the full-text index covers the first SEARCH_INDEX_CHARS characters
    // of a message (migration 0037), so no content is too large for it.
    const rows = readable;
    if (rows.length === 0) return 0;
    const schema = quoteIdentifier(ctx.config.schema);
    await sql
      .raw(
        `create temporary table if not exists ${STAGE} (ord int4, external_id text, conversation_external_id text, conversation_id uuid, role text, content text, metadata text, created_at timestamptz) on commit drop`,
      )
      .execute(tx.db);
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
    await tx.db.executeQuery(
      copyInQuery(
        `copy pg_temp.${STAGE} (ord, external_id, conversation_external_id, conversation_id, role, content, metadata, created_at) from stdin (format binary)`,
        writer.chunks(),
      ),
    );
    const conversations = sql.raw(`${schema}.conversations`);
    const stage = sql.raw(`pg_temp.${STAGE}`);
    const target = sql`left join ${conversations} byx
        on s.conversation_id is null and byx.import_source = ${input.source} and byx.external_id = s.conversation_external_id
      left join ${conversations} byid on s.conversation_id is not null and byid.id = s.conversation_id`;
    // The batch is sorted by ord in memory, not on disk (transaction-scoped: pooler-safe).
    await sql.raw(`set local work_mem = '${SORT_MEMORY}'`).execute(tx.db);
    // One pass over the batch: each row's conversation is resolved once (the `resolved` CTE is
    // read twice, so PostgreSQL materializes it), the rows with one are inserted in order, and the
    // ords of the rows without one come back with the count.
    const result = await sql<{ inserted: number; missing: number[] | null }>`
      with resolved as (
        select s.ord, s.role, s.content, s.metadata, s.created_at, s.external_id,
          coalesce(byx.user_id, byid.user_id) as user_id, coalesce(byx.id, byid.id) as conversation_id
        from ${stage} s ${target}
      ), inserted as (
        insert into ${sql.raw(`${schema}.chat_messages`)} (user_id, conversation_id, role, content, metadata, language, created_at, import_source, external_id)
        select r.user_id, r.conversation_id, r.role, r.content, r.metadata::jsonb,
          ${ctx.config.chat.searchLanguage}::regconfig, r.created_at, ${input.source}, r.external_id
        from resolved r
        where r.conversation_id is not null
        order by r.ord
        on conflict (user_id, import_source, external_id) where external_id is not null do nothing
        returning user_id, conversation_id, created_at
      ), touched as (
        update ${conversations} c set last_message_at = t.latest
        from (select user_id, conversation_id, max(created_at) as latest from inserted group by 1, 2) t
        where c.user_id = t.user_id and c.id = t.conversation_id and c.last_message_at < t.latest
      )
      select (select count(*)::int from inserted) as inserted,
        (select array_agg(r.ord order by r.ord) from resolved r where r.conversation_id is null) as missing`.execute(
      tx.db,
    );
    const outcome = result.rows[0];
    for (const ord of outcome?.missing ?? []) {
      const read = rows[ord];
      if (read === undefined) continue;
      const field = read.row.conversationId !== undefined ? 'conversationId' : 'conversationExternalId';
      report.refuse(rowPath('messages', read.index, [field]), read.row.externalId, 'no such conversation');
    }
    await sql.raw(`truncate pg_temp.${STAGE}`).execute(tx.db);
    const count = outcome?.inserted ?? 0;
    await recordAudit(tx, {
      action: 'import.messages',
      resourceType: 'chat_history',
      metadata: { source: input.source, read: input.messages.length, inserted: count },
    });
    return count;
  });
  return report.build('messages', input.source, input.messages.length, inserted);
}
