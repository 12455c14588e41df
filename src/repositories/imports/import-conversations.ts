import { sql } from 'kysely';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { ImportConversationRowSchema } from './import-inputs.js';
import { type ImportReport, ReportBuilder, rowPath } from './import-report.js';
import { readRows } from './read-rows.js';
import { resolveUsers } from './resolve-users.js';

/**
 * Imports conversations in one transaction: each owner is resolved (refused when unknown), then
 * INSERT ... ON CONFLICT (user_id, import_source, external_id) DO NOTHING; a rerun inserts nothing.
 * `createdAt` is kept (and is the conversation's activity time until its messages are imported).
 */
export async function importConversations(
  ctx: RepositoryContext,
  input: { source: string; conversations: readonly unknown[] },
): Promise<ImportReport> {
  const report = new ReportBuilder();
  const maxBytes = ctx.config.chat.maxMessageBytes;
  const rows = readRows(ImportConversationRowSchema, input.conversations, 'conversations', report, (row) =>
    row.metadata !== undefined && Buffer.byteLength(JSON.stringify(row.metadata), 'utf8') > maxBytes
      ? [['metadata'], `exceeds ${maxBytes} UTF-8 bytes`]
      : undefined,
  );
  const now = ctx.now();
  const mark = report.refused.length;
  const inserted = await ctx.atomic(async (tx) => {
    report.rollbackTo(mark); // a retried transaction classifies again
    const users = await resolveUsers(
      tx,
      input.source,
      rows.flatMap((r) => (r.row.userExternalId === undefined ? [] : [r.row.userExternalId])),
      rows.flatMap((r) => (r.row.userId === undefined ? [] : [r.row.userId])),
    );
    const owned = rows.flatMap((r) => {
      const userId =
        r.row.userId !== undefined
          ? users.known.has(r.row.userId)
            ? r.row.userId
            : undefined
          : users.byExternal.get(r.row.userExternalId ?? '');
      if (userId === undefined) {
        const field = r.row.userId !== undefined ? 'userId' : 'userExternalId';
        report.refuse(rowPath('conversations', r.index, [field]), r.row.externalId, 'no such user');
        return [];
      }
      return [{ ...r, userId }];
    });
    if (owned.length === 0) return 0;
    const table = sql.id(ctx.config.schema, 'conversations');
    const result = await sql<{ count: number }>`
      with inserted as (
        insert into ${table} (user_id, title, metadata, last_message_at, created_at, updated_at, import_source, external_id)
        select u, t, m::jsonb, coalesce(c, ${now}::timestamptz), coalesce(c, ${now}::timestamptz), ${now}::timestamptz, ${input.source}, x
        from unnest(${owned.map((r) => r.userId)}::uuid[], ${owned.map((r) => r.row.title ?? null)}::text[],
          ${owned.map((r) => (r.row.metadata === undefined ? null : JSON.stringify(r.row.metadata)))}::text[],
          ${owned.map((r) => r.row.createdAt?.toISOString() ?? null)}::timestamptz[],
          ${owned.map((r) => r.row.externalId)}::text[]) with ordinality as t(u, t, m, c, x, ord)
        order by ord
        on conflict (user_id, import_source, external_id) where external_id is not null do nothing
        returning 1
      )
      select count(*)::int as count from inserted`.execute(tx.db);
    const count = result.rows[0]?.count ?? 0;
    await recordAudit(tx, {
      action: 'import.conversations',
      resourceType: 'conversation',
      metadata: { source: input.source, read: input.conversations.length, inserted: count },
    });
    return count;
  });
  return report.build('conversations', input.source, input.conversations.length, inserted);
}
