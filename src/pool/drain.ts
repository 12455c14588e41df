import type pg from 'pg';

/**
 * Closes every connection of `pool` without ending it: waits (up to `timeoutMs`) until no
 * connection is checked out, then checks out the idle ones and destroys them. The pool opens new
 * connections on demand afterwards. Used before a database is swapped by a replace restore, so the
 * instance's own idle connections do not count as "other sessions". Returns false when connections
 * stayed checked out past the timeout (they are left alone).
 */
export async function drainPool(pool: pg.Pool, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pool.totalCount > pool.idleCount || pool.waitingCount > 0) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const idle = pool.idleCount;
  const clients = await Promise.all(Array.from({ length: idle }, () => pool.connect()));
  for (const client of clients) client.release(true);
  return true;
}
