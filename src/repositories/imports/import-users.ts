import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { HashFormatError, storedFormOf } from '../../security/password-hashes/imported-hash.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { ImportUserRowSchema, type ImportUsersInput } from './import-inputs.js';
import { type ImportReport, ReportBuilder, rowPath } from './import-report.js';
import { readRows } from './read-rows.js';

/**
 * Imports users in one transaction: INSERT ... ON CONFLICT DO NOTHING (any unique key: the
 * (source, external id), the username or the email, case-insensitively), then each row that was
 * not inserted is classified: already imported under the same external id, or refused because its
 * username or email belongs to another account (also one earlier in the same call: `alice` and
 * `Alice` never merge).
 */
export async function importUsers(
  ctx: RepositoryContext,
  input: { source: string; users: readonly unknown[] },
): Promise<ImportReport> {
  const report = new ReportBuilder();
  const roles = ctx.config.users.roles;
  const hashes = new Map<number, string>();
  const rows = readRows(ImportUserRowSchema, input.users, 'users', report, (row, index) => {
    if (!roles.includes(row.role)) return [['role'], 'not one of the configured roles (users.roles)'];
    if (row.passwordHash === undefined) return undefined;
    try {
      hashes.set(index, storedFormOf(row.passwordHash));
    } catch (error) {
      if (error instanceof HashFormatError) return [['passwordHash', 'hash'], error.message];
      throw error;
    }
    return undefined;
  });
  const now = ctx.now();
  const mark = report.refused.length;
  const inserted = await ctx.atomic(async (tx) => {
    report.rollbackTo(mark); // a retried transaction classifies again
    if (rows.length === 0) return 0;
    const table = sql.id(ctx.config.schema, 'users');
    const result = await sql<{ external_id: string }>`
      insert into ${table} (username, email, display_name, password_hash, role, status, last_login_at,
        password_changed_at, created_at, updated_at, import_source, external_id)
      select u, e, d, h, r, s, l, coalesce(c, ${now}::timestamptz), coalesce(c, ${now}::timestamptz), ${now}::timestamptz, ${input.source}, x
      from unnest(${rows.map((r) => r.row.username)}::text[], ${rows.map((r) => r.row.email)}::text[],
        ${rows.map((r) => r.row.displayName ?? null)}::text[],
        ${rows.map((r) => hashes.get(r.index) ?? `!imported:${randomBytes(24).toString('base64url')}`)}::text[],
        ${rows.map((r) => r.row.role)}::text[], ${rows.map((r) => r.row.status ?? 'active')}::text[],
        ${rows.map((r) => r.row.lastLoginAt?.toISOString() ?? null)}::timestamptz[],
        ${rows.map((r) => r.row.createdAt?.toISOString() ?? null)}::timestamptz[],
        ${rows.map((r) => r.row.externalId)}::text[]) with ordinality as t(u, e, d, h, r, s, l, c, x, ord)
      order by ord
      on conflict do nothing
      returning external_id`.execute(tx.db);
    const fresh = new Set(result.rows.map((row) => row.external_id));
    const present = await tx.db
      .selectFrom('users')
      .select('external_id')
      .where('import_source', '=', input.source)
      .where(
        'external_id',
        'in',
        rows
          .filter((r) => !fresh.has(r.row.externalId))
          .map((r) => r.row.externalId)
          .concat(['']),
      )
      .execute();
    const already = new Set(present.map((row) => row.external_id));
    for (const { index, row } of rows) {
      if (fresh.has(row.externalId) || already.has(row.externalId)) continue;
      report.refuse(
        rowPath('users', index, ['username']),
        row.externalId,
        'the username or email (compared case-insensitively) belongs to another account',
      );
    }
    await recordAudit(tx, {
      action: 'import.users',
      resourceType: 'user',
      metadata: { source: input.source, read: input.users.length, inserted: fresh.size },
    });
    return fresh.size;
  });
  return report.build('users', input.source, input.users.length, inserted);
}

export type { ImportUsersInput };
