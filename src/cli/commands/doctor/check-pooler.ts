import type { CheckResult, DoctorContext } from './doctor-check.js';

/**
 * A pooler (PgBouncer, Supavisor, RDS Proxy...) between carebase and the server: the backend pid
 * the server reports is not the one announced when the connection opened (a pooler announces its
 * own), or one connection reaches several backends (a transaction pooler, under load). Behind a
 * transaction pooler session state (advisory locks, SET, named prepared statements) does not
 * survive, so carebase must be told (`pooler: 'transaction'`) and migrations need a direct URL.
 */
export async function checkPooler(context: DoctorContext): Promise<CheckResult> {
  const client = await context.pool.connect();
  client.on('error', () => {});
  const pids = new Set<number>();
  const announced = (client as unknown as { processID?: number | null }).processID ?? undefined;
  try {
    for (let i = 0; i < 4; i++) {
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      pids.add(rows[0]?.pid ?? 0);
    }
  } finally {
    client.release();
  }
  const pooled = pids.size > 1 || (announced !== undefined && !pids.has(announced));
  if (!pooled) {
    return {
      id: 'pooler',
      status: 'ok',
      summary: 'no pooler detected (the connection reaches the backend it opened)',
    };
  }
  const seen =
    pids.size > 1
      ? `a transaction pooler is in the way: one connection reached ${pids.size} server backends`
      : 'a pooler is in the way: the server backend is not the one the connection was opened to';
  if (context.config.pooler === 'transaction') {
    return {
      id: 'pooler',
      status: context.config.directUrl === undefined ? 'warn' : 'ok',
      summary: `${seen}; pooler: 'transaction' is set`,
      ...(context.config.directUrl === undefined
        ? {
            hint: 'set DIRECT_DATABASE_URL (directUrl) to the server itself: migrations and backups need a session',
          }
        : {}),
    };
  }
  return {
    id: 'pooler',
    status: 'warn',
    summary: seen,
    hint: "behind a transaction pooler set pooler: 'transaction' (DB_POOLER=transaction), and run migrations and backups against the server directly (directUrl / DIRECT_DATABASE_URL): their advisory locks and settings live in one session",
  };
}
