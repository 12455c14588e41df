/** The one method the lock needs of a connection (a pg client, or the migration runner's). */
interface SqlConnection {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The advisory lock key (two int4 halves) that migrations and backups of one database both take:
 * migrations exclusively, backups shared. A migration never runs while `pg_dump` holds its
 * snapshot and table locks (its `ALTER TABLE` would queue behind the dump and block every read
 * of the table), and several backups may still run at once.
 */
const KEY_SQL = "hashtext('carebase.maintenance'), 0";

/** A session holding the maintenance lock, as `pg_locks` and `pg_stat_activity` show it. */
export interface MaintenanceLockHolder {
  readonly pid: number;
  readonly applicationName: string;
  /** `backup` for a shared holder, `migration` for the exclusive one. */
  readonly kind: 'backup' | 'migration';
}

/** Tries once to take the maintenance lock; true when this session now holds it. */
export async function tryMaintenanceLock(
  connection: SqlConnection,
  mode: 'shared' | 'exclusive',
): Promise<boolean> {
  const fn = mode === 'shared' ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
  const { rows } = await connection.query<{ locked: boolean }>(`select ${fn}(${KEY_SQL}) as locked`);
  return rows[0]?.locked === true;
}

/** Releases the maintenance lock taken by {@link tryMaintenanceLock} in `mode`. */
export async function releaseMaintenanceLock(
  connection: SqlConnection,
  mode: 'shared' | 'exclusive',
): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_unlock_shared' : 'pg_advisory_unlock';
  await connection.query(`select ${fn}(${KEY_SQL})`);
}

/** The other sessions holding the maintenance lock of the current database. */
export async function maintenanceLockHolders(connection: SqlConnection): Promise<MaintenanceLockHolder[]> {
  const { rows } = await connection.query<{ pid: number; application_name: string | null; mode: string }>(
    `select l.pid, a.application_name, l.mode
       from pg_locks l left join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.pid <> pg_backend_pid()
        and l.database = (select oid from pg_database where datname = current_database())
        and l.classid = (hashtext('carebase.maintenance'))::oid and l.objid = 0 and l.objsubid = 2
      order by l.pid`,
  );
  return rows.map((row) => ({
    pid: row.pid,
    applicationName: row.application_name ?? '',
    kind: row.mode === 'ShareLock' ? 'backup' : 'migration',
  }));
}

/** `pid 123 (application_name 'carebase-backup')`, joined by commas. */
export function describeHolders(holders: readonly { pid: number; applicationName: string }[]): string {
  return holders
    .map((holder) => `pid ${holder.pid} (application_name '${holder.applicationName}')`)
    .join(', ');
}
