import pg from 'pg';

const pools = new Map<string, pg.Pool>();

/**
 * A small pool of maintenance connections to `serverUrl`, shared within this process. It never
 * keeps the process alive (`allowExitOnIdle`), and errors of idle connections (the server going
 * away at the end of a run) are ignored.
 */
export function adminPool(serverUrl: string): pg.Pool {
  let pool = pools.get(serverUrl);
  if (pool === undefined) {
    pool = new pg.Pool({
      connectionString: serverUrl,
      max: 4,
      idleTimeoutMillis: 2000,
      allowExitOnIdle: true,
    });
    pool.on('error', () => {});
    pools.set(serverUrl, pool);
  }
  return pool;
}

/** `serverUrl` with its database replaced by `database`. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The SQLSTATE of a driver error, if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
