import { randomBytes } from 'node:crypto';
import { grantAppRole } from '../migration/grant-app-role.js';
import { quoteIdentifier } from '../sql/identifier.js';
import { adminPool } from './admin.js';

/** App roles of test databases are named after them: `carebase_test_<hex>_app`. */
const APP_ROLE_PATTERN = '^carebase_test_[0-9a-f]{12}_app$';
const swept = new Set<string>();

/**
 * Creates the app role of a test database (`<database>_app`, a random password) with exactly the
 * grants of `grantAppRole()`, and returns a URL that logs in as it. Roles are cluster-wide, so each
 * test database gets its own, dropped with the database ({@link dropAppRole}); roles left behind by
 * a killed process (their database gone) are dropped by the next process's first call.
 */
export async function createAppRole(
  serverUrl: string,
  ownerUrl: string,
  database: string,
  schema: string,
): Promise<{ role: string; url: string }> {
  if (!swept.has(serverUrl)) {
    swept.add(serverUrl);
    await sweepLeakedRoles(serverUrl);
  }
  const role = `${database}_app`;
  const password = randomBytes(18).toString('base64url');
  await grantAppRole(ownerUrl, { role, schema, password });
  const url = new URL(ownerUrl);
  url.username = role;
  url.password = password;
  return { role, url: url.toString() };
}

/**
 * Drops a test database's app role (after the database). Another process's sweep of leaked roles
 * (a role whose database is gone) may drop it at the same moment, which fails one of the two
 * DROP ROLEs with "tuple concurrently deleted": the role is gone either way, so that is success;
 * a role still present after a failure is retried once.
 */
export async function dropAppRole(serverUrl: string, role: string): Promise<void> {
  const pool = adminPool(serverUrl);
  const drop = () => pool.query(`drop role if exists ${quoteIdentifier(role)}`);
  try {
    await drop();
  } catch (error) {
    const { rowCount } = await pool.query('select 1 from pg_roles where rolname = $1', [role]);
    if (rowCount === 0) return;
    try {
      await drop();
    } catch {
      throw error;
    }
  }
}

/** Drops app roles of test databases that no longer exist. Best effort. */
async function sweepLeakedRoles(serverUrl: string): Promise<void> {
  const pool = adminPool(serverUrl);
  const { rows } = await pool
    .query<{ rolname: string }>(
      `select r.rolname from pg_roles r
        where r.rolname ~ $1
          and not exists (select 1 from pg_database d where d.datname = left(r.rolname, -4))`,
      [APP_ROLE_PATTERN],
    )
    .catch(() => ({ rows: [] as { rolname: string }[] }));
  for (const { rolname } of rows) {
    await pool.query(`drop role if exists ${quoteIdentifier(rolname)}`).catch(() => {});
  }
}
