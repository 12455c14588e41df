import { sql } from 'kysely';
import { quoteIdentifier } from '../../sql/identifier.js';
import { AUDIT_BASE_ARRAY_TYPES, AUDIT_BASE_INSERT_COLUMNS } from '../audit/batch-insert.js';
import { ensureAuditPartition } from '../audit/partitions.js';
import { recordAudit } from '../audit/record.js';
import { redactJson } from '../audit/redact.js';
import { auditSealerOf } from '../audit/sealer.js';
import type { RepositoryContext } from '../context.js';
import { monthKey } from '../partition-months.js';
import { ImportAuditRowSchema } from './import-inputs.js';
import { type ImportReport, ReportBuilder, rowPath } from './import-report.js';
import { readRows } from './read-rows.js';
import { resolveUsers } from './resolve-users.js';

const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/**
 * Imports audit entries in one transaction with their original times (partitions of past months
 * are created through `audit_ensure_partitions()`), their actors resolved, `audit.redactKeys`
 * redacted, and their source and original id recorded in the entry's hashed metadata
 * (`carebaseImport`). Idempotent through `audit_import_keys`: one statement claims the keys and
 * inserts only the entries whose key it claimed. Entries older than `audit.retentionMonths` are
 * counted as `pastRetention` and not imported (retention would drop them); entries more than a day
 * ahead are refused. The new entries are sealed into their months' chains after the commit.
 */
export async function importAuditEntries(
  ctx: RepositoryContext,
  input: { source: string; entries: readonly unknown[] },
): Promise<ImportReport> {
  const report = new ReportBuilder();
  const now = ctx.now();
  const oldest = new Date(now);
  oldest.setUTCMonth(oldest.getUTCMonth() - ctx.config.audit.retentionMonths);
  let pastRetention = 0;
  const rows = readRows(ImportAuditRowSchema, input.entries, 'entries', report, (row) => {
    if (row.occurredAt.getTime() > now.getTime() + MAX_FUTURE_MS) {
      return [['occurredAt'], 'more than a day ahead of the clock'];
    }
    if (row.userId !== undefined && row.userExternalId !== undefined) {
      return [['userId'], 'give at most one of userId and userExternalId'];
    }
    return undefined;
  }).filter(({ row }) => {
    if (row.occurredAt.getTime() >= oldest.getTime()) return true;
    pastRetention++;
    return false;
  });
  const keys = ctx.config.audit.redactKeys;
  const mark = report.refused.length;
  const inserted = await ctx.atomic(async (tx) => {
    report.rollbackTo(mark);
    if (rows.length === 0) return 0;
    const users = await resolveUsers(
      tx,
      input.source,
      rows.flatMap((r) => (r.row.userExternalId === undefined ? [] : [r.row.userExternalId])),
      rows.flatMap((r) => (r.row.userId === undefined ? [] : [r.row.userId])),
    );
    const accepted = rows.flatMap((r) => {
      const { userId, userExternalId } = r.row;
      const actor =
        userId !== undefined
          ? users.known.has(userId)
            ? userId
            : undefined
          : userExternalId !== undefined
            ? users.byExternal.get(userExternalId)
            : null;
      if (actor === undefined) {
        report.refuse(
          rowPath('entries', r.index, [userId !== undefined ? 'userId' : 'userExternalId']),
          r.row.externalId,
          'no such user',
        );
        return [];
      }
      return [{ ...r, actor }];
    });
    if (accepted.length === 0) return 0;
    const months = new Map<string, Date>();
    for (const { row } of accepted) months.set(monthKey(row.occurredAt), row.occurredAt);
    for (const at of months.values()) await ensureAuditPartition(tx, at);
    const columns = [
      accepted.map((r) => r.row.occurredAt.toISOString()),
      accepted.map((r) => r.actor),
      accepted.map((r) => r.row.actorType ?? (r.actor === null ? 'system' : 'user')),
      accepted.map((r) => r.row.action),
      accepted.map((r) => r.row.resourceType),
      accepted.map((r) => r.row.resourceId ?? null),
      accepted.map((r) => r.row.subjectId ?? null),
      accepted.map((r) => r.row.outcome ?? 'success'),
      accepted.map((r) => r.row.outcomeDetail ?? null),
      accepted.map((r) => r.row.ip ?? null),
      accepted.map((r) => r.row.userAgent ?? null),
      accepted.map((r) => r.row.requestId ?? null),
      accepted.map((r) =>
        r.row.changes === undefined ? null : JSON.stringify(redactJson(r.row.changes, keys)),
      ),
      accepted.map((r) =>
        JSON.stringify({
          ...(r.row.metadata === undefined
            ? {}
            : (redactJson(r.row.metadata, keys) as Record<string, unknown>)),
          carebaseImport: { source: input.source, externalId: r.row.externalId },
        }),
      ),
      accepted.map((r) => r.row.externalId),
    ];
    const types = [...AUDIT_BASE_ARRAY_TYPES, 'text']; // + the external id
    const arrays = sql.join(columns.map((values, i) => sql`${values}::${sql.raw(types[i] ?? 'text')}[]`));
    const schema = quoteIdentifier(ctx.config.schema);
    const result = await sql<{ count: number }>`
      with input as (
        select * from unnest(${arrays}) with ordinality as t(occurred_at, actor_user_id, actor_type, action,
          resource_type, resource_id, subject_id, outcome, outcome_detail, ip, user_agent, request_id, changes, metadata, external_id, ord)
      ), claimed as (
        insert into ${sql.raw(`${schema}.audit_import_keys`)} (source, external_id, occurred_at, imported_at)
        select ${input.source}, external_id, occurred_at, ${now}::timestamptz from input
        on conflict do nothing
        returning external_id
      ), inserted as (
        insert into ${sql.raw(`${schema}.audit_log`)} (${sql.raw(AUDIT_BASE_INSERT_COLUMNS)})
        select occurred_at, actor_user_id, actor_type, action, resource_type, resource_id, subject_id, outcome,
          outcome_detail, ip, user_agent, request_id, changes, metadata
        from input where external_id in (select external_id from claimed) order by ord
        returning 1
      )
      select count(*)::int as count from inserted`.execute(tx.db);
    const count = result.rows[0]?.count ?? 0;
    await recordAudit(tx, {
      action: 'import.audit',
      resourceType: 'audit_log',
      metadata: { source: input.source, read: input.entries.length, inserted: count, pastRetention },
    });
    return count;
  });
  if (!ctx.inTransaction) await auditSealerOf(ctx.runtime).seal();
  else auditSealerOf(ctx.runtime).schedule(50);
  return report.build('auditEntries', input.source, input.entries.length, inserted, pastRetention);
}
