import type pg from 'pg';
import { qualifiedName } from '../sql/identifier.js';

/**
 * Exact row counts of every ordinary table and partition outside the system schemas, keyed
 * `schema.table`, as seen by `client`'s current snapshot (run it inside the transaction whose
 * snapshot pg_dump uses, and the counts describe exactly what was dumped).
 */
export async function countTableRows(client: pg.ClientBase): Promise<Record<string, number>> {
  const { rows: tables } = await client.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r'
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
        and not exists (select 1 from pg_depend d
                         where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by 1, 2`,
  );
  if (tables.length === 0) return {};
  // One statement, one round trip: a union of count(*) per table, each row tagged by its index.
  const sql = tables
    .map((t, i) => `select ${i}::int as i, count(*)::bigint as n from ${qualifiedName(t.schema, t.name)}`)
    .join(' union all ');
  const { rows } = await client.query<{ i: number; n: string }>(sql);
  const counts: Record<string, number> = {};
  for (const row of rows) {
    const table = tables[row.i];
    if (table !== undefined) counts[`${table.schema}.${table.name}`] = Number(row.n);
  }
  return counts;
}
