import type pg from 'pg';
import { BackupError } from '../errors/errors.js';
import { qualifiedName } from '../sql/identifier.js';

/** Ordinary tables and partitions outside the system schemas and extensions. */
const USER_TABLES = `from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r'
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
        and not exists (select 1 from pg_depend d
                         where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')`;

/**
 * The first table (`schema.table`) the connected role may not read, or `undefined`. A backup and
 * its row counts need every table: checked first, so the failure names the table instead of
 * surfacing as a bare SQLSTATE 42501 from the middle of the dump.
 */
export async function unreadableTable(client: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await client.query<{ name: string }>(
    `select n.nspname || '.' || c.relname as name ${USER_TABLES}
        and not (has_schema_privilege(n.oid, 'USAGE') and has_table_privilege(c.oid, 'SELECT'))
      order by 1 limit 1`,
  );
  return rows[0]?.name;
}

/** Throws `BackupError` naming the first table the connected role may not read. */
export async function assertTablesReadable(client: pg.ClientBase): Promise<void> {
  const table = await unreadableTable(client);
  if (table !== undefined) {
    throw new BackupError(`permission denied: the backup role may not read ${table} (SQLSTATE 42501)`, {
      table,
    });
  }
}

/**
 * Exact row counts of every ordinary table and partition outside the system schemas, keyed
 * `schema.table`, as seen by `client`'s current snapshot (run it inside the transaction whose
 * snapshot pg_dump uses, and the counts describe exactly what was dumped). Throws `BackupError`
 * naming the first table the role may not read.
 */
export async function countTableRows(client: pg.ClientBase): Promise<Record<string, number>> {
  await assertTablesReadable(client);
  const { rows: tables } = await client.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name ${USER_TABLES} order by 1, 2`,
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
