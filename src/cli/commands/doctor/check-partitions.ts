import type { CheckResult, DoctorContext } from './doctor-check.js';

const PARTITIONED = ['audit_log', 'analytics_events'] as const;

function monthStart(date: Date, add: number): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + add, 1));
}

/**
 * Monthly partitions ahead for the audit log and analytics events: this month and next must
 * exist, or writes at the turn of the month depend on creating one at run time.
 */
export async function checkPartitions(context: DoctorContext): Promise<CheckResult> {
  const schema = context.config.schema;
  const { rows } = await context.pool.query<{ parent: string; bound: string | null; now: Date }>(
    `select p.relname as parent, pg_get_expr(c.relpartbound, c.oid) as bound, now() as now
       from pg_class p join pg_namespace n on n.oid = p.relnamespace
       left join pg_inherits i on i.inhparent = p.oid left join pg_class c on c.oid = i.inhrelid
      where n.nspname = $1 and p.relname = any($2::text[]) and p.relkind = 'p'`,
    [schema, [...PARTITIONED]],
  );
  if (rows.length === 0) {
    return {
      id: 'partitions',
      status: 'info',
      summary: `no partitioned carebase tables in ${schema} yet (run migrations)`,
    };
  }
  const now = rows[0]?.now ?? new Date();
  const needed = monthStart(now, 2);
  const details: string[] = [];
  const short: string[] = [];
  for (const parent of PARTITIONED) {
    const bounds = rows.filter((row) => row.parent === parent);
    if (bounds.length === 0) continue;
    const ends = bounds
      .map((row) => /TO \('([^']+)'\)/.exec(row.bound ?? '')?.[1])
      .filter((value): value is string => value !== undefined)
      .map((value) => new Date(value));
    const last = ends.length === 0 ? undefined : new Date(Math.max(...ends.map((end) => end.getTime())));
    const hasDefault = bounds.some((row) => row.bound === 'DEFAULT');
    const months =
      last === undefined
        ? 0
        : (last.getUTCFullYear() - now.getUTCFullYear()) * 12 + last.getUTCMonth() - now.getUTCMonth();
    details.push(
      `${parent}: partitions up to ${last?.toISOString().slice(0, 10) ?? 'none'} (${Math.max(0, months - 1)} month${months - 1 === 1 ? '' : 's'} ahead)${hasDefault ? ', default partition' : ''}`,
    );
    if (last === undefined || last < needed) short.push(parent);
  }
  if (short.length > 0) {
    return {
      id: 'partitions',
      status: 'warn',
      summary: `not enough partitions ahead for ${short.join(', ')}`,
      details,
      hint: `create them as the owner: select ${schema}.ensure_monthly_partitions('<table>', now(), 2)`,
    };
  }
  return { id: 'partitions', status: 'ok', summary: 'this month and the next are partitioned', details };
}
