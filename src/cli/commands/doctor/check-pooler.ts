import type { CheckResult, DoctorContext } from './doctor-check.js';

/**
 * A transaction pooler (PgBouncer in transaction mode, Supavisor, RDS Proxy...) between carebase
 * and the server: the backend behind one client connection changes between transactions, so
 * session state (advisory locks, SET, named prepared statements) does not survive.
 */
export async function checkPooler(context: DoctorContext): Promise<CheckResult> {
  const client = await context.pool.connect();
  client.on('error', () => {});
  const pids = new Set<number>();
  try {
    for (let i = 0; i < 4; i++) {
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      pids.add(rows[0]?.pid ?? 0);
    }
  } finally {
    client.release();
  }
  if (pids.size > 1) {
    return {
      id: 'pooler',
      status: 'warn',
      summary: `a transaction pooler is in the way: one connection reached ${pids.size} server backends`,
      hint: "set pooler: 'transaction' (DB_POOLER=transaction), and run migrations and backups against the server directly (directUrl / DIRECT_DATABASE_URL): their advisory locks and settings live in one session",
    };
  }
  return {
    id: 'pooler',
    status: 'ok',
    summary: 'no transaction pooler detected (one backend per connection)',
  };
}
