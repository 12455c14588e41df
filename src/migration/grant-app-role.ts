import { z } from 'zod';
import { Secret } from '../config/secret.js';
import { InvalidConfigurationError } from '../errors/errors.js';
import { quoteIdentifier } from '../sql/identifier.js';
import { parseInput } from '../validation/parse-input.js';
import { appRoleGrantStatements, rowSecurityStatements } from './app-role-grants.js';
import { type MigrationTarget, withConnection } from './connection.js';
import { scramVerifier } from './scram-verifier.js';

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier (letters, digits, underscore)');

/**
 * Options of {@link grantAppRole}.
 *
 * @example
 * ```ts
 * import { GrantAppRoleOptionsSchema } from 'carebase/migration';
 * GrantAppRoleOptionsSchema.parse({ role: 'carebase_app' });
 * ```
 */
export const GrantAppRoleOptionsSchema = z.strictObject({
  /** The app role's name (a lower-case identifier). */
  role: identifier,
  /** The carebase schema. @default 'carebase' */
  schema: identifier.optional(),
  /**
   * Sets the role's password (creating the role with it when missing). Sent to the server as a
   * SCRAM-SHA-256 verifier computed here, never in clear. @default no password is set
   */
  password: z.union([z.string().min(1).max(1024), z.instanceof(Secret)]).optional(),
  /** Create the role (`LOGIN`, no other attributes) when it does not exist. @default true */
  createRole: z.boolean().optional(),
  /**
   * `true` enables row-level security on the tables listed in {@link ROW_SECURITY_TABLES} (their
   * policies come from migration 0043; run the app with `createCarebase({ rls: true })`), `false`
   * disables it. @default unchanged
   */
  rowSecurity: z.boolean().optional(),
});

/**
 * Options of {@link grantAppRole}; see {@link GrantAppRoleOptionsSchema}.
 *
 * @example
 * ```ts
 * import { type GrantAppRoleOptions, grantAppRole } from 'carebase/migration';
 * const options: GrantAppRoleOptions = { role: 'carebase_app', schema: 'carebase' };
 * await grantAppRole(process.env.OWNER_DATABASE_URL!, options);
 * ```
 */
export interface GrantAppRoleOptions {
  /** The app role's name (a lower-case identifier). */
  readonly role: string;
  /** The carebase schema. @default 'carebase' */
  readonly schema?: string | undefined;
  /**
   * Sets the role's password (creating the role with it when missing). Sent to the server as a
   * SCRAM-SHA-256 verifier computed here, never in clear. @default no password is set
   */
  readonly password?: string | Secret | undefined;
  /** Create the role (`LOGIN`, no other attributes) when it does not exist. @default true */
  readonly createRole?: boolean | undefined;
  /**
   * `true` enables row-level security on the tables listed in {@link ROW_SECURITY_TABLES} (their
   * policies come from migration 0043; run the app with `createCarebase({ rls: true })`), `false`
   * disables it. @default unchanged
   */
  readonly rowSecurity?: boolean | undefined;
}

/**
 * What {@link grantAppRole} did.
 *
 * @example
 * ```ts
 * import { type GrantAppRoleResult, grantAppRole } from 'carebase/migration';
 * const { role, created }: GrantAppRoleResult = await grantAppRole(process.env.OWNER_DATABASE_URL!, {
 *   role: 'carebase_app',
 * });
 * console.log(created ? `created ${role}` : `${role}'s privileges reset`);
 * ```
 */
export interface GrantAppRoleResult {
  /** The role's name. */
  readonly role: string;
  /** Whether the role was created by this call. */
  readonly created: boolean;
}

/**
 * Makes `role` carebase's least-privilege app role: creates it when missing (`LOGIN` only), then,
 * in one transaction, revokes everything it holds on the carebase schema and grants exactly the
 * privileges the runtime needs (listed once, in docs/security.md): data access on the tables, no
 * DDL, no UPDATE, DELETE or TRUNCATE on the audit tables, no write access to the audit chain or
 * the seal state, and EXECUTE on the owner's SECURITY DEFINER functions that create partitions,
 * seal the audit chain and apply analytics retention. Also grants CONNECT and TEMPORARY on the
 * database (rollup refreshes use a temporary table).
 *
 * Run it as the owner (the role that runs `migrate()`), after `migrate()`, at every deploy: both
 * are idempotent, and a rerun also removes privileges granted by hand. The role is refused when it
 * is a superuser, bypasses row-level security, or is (or is a member of) the schema's owner, since
 * it would then hold the owner's DDL rights whatever is granted.
 *
 * Throws `ValidationError` for bad options (before any SQL), `InvalidConfigurationError` when the
 * schema is missing, the connection is not its owner, or the role is unsuitable, and
 * `ConnectionError` / `QueryError` for database failures (nothing is changed then).
 *
 * Concurrency: concurrent calls for the same role are safe (the last one's grants stand, and
 * they are identical).
 *
 * @example
 * ```ts
 * import { grantAppRole, migrate } from 'carebase/migration';
 * // Deploy step, with the owner's credentials; the app then connects as carebase_app.
 * await migrate(process.env.OWNER_DATABASE_URL!);
 * await grantAppRole(process.env.OWNER_DATABASE_URL!, {
 *   role: 'carebase_app',
 *   password: process.env.APP_DB_PASSWORD,
 * });
 * ```
 */
export async function grantAppRole<DB>(
  target: MigrationTarget<DB>,
  options: GrantAppRoleOptions,
): Promise<GrantAppRoleResult> {
  const parsed = parseInput(GrantAppRoleOptionsSchema, options, 'grantAppRole options');
  const schema = parsed.schema ?? 'carebase';
  const role = parsed.role;
  const password = parsed.password instanceof Secret ? parsed.password.reveal() : parsed.password;
  return withConnection(target, async (connection) => {
    await connection.query('begin');
    try {
      const { rows: owners } = await connection.query<{ owner: string; is_owner: boolean }>(
        `select pg_get_userbyid(n.nspowner) as owner, pg_has_role(current_user, n.nspowner, 'USAGE') as is_owner
           from pg_namespace n where n.nspname = $1`,
        [schema],
      );
      const owner = owners[0];
      if (owner === undefined) {
        throw new InvalidConfigurationError(
          'schema',
          'the carebase schema does not exist: run migrate() first',
        );
      }
      if (!owner.is_owner) {
        throw new InvalidConfigurationError('target', "must connect as the carebase schema's owner");
      }
      const { rows: existing } = await connection.query<{
        rolsuper: boolean;
        rolbypassrls: boolean;
        member_of_owner: boolean;
      }>(
        `select r.rolsuper, r.rolbypassrls, pg_has_role(r.oid, n.nspowner, 'MEMBER') as member_of_owner
           from pg_roles r, pg_namespace n where r.rolname = $1 and n.nspname = $2`,
        [role, schema],
      );
      const found = existing[0];
      const quoted = quoteIdentifier(role);
      const passwordClause = password === undefined ? '' : ` password '${scramVerifier(password)}'`;
      if (found === undefined) {
        if (parsed.createRole === false) {
          throw new InvalidConfigurationError('role', 'does not exist (and createRole is false)');
        }
        await connection.query(`create role ${quoted} login${passwordClause}`);
      } else {
        if (found.rolsuper || found.rolbypassrls || found.member_of_owner) {
          throw new InvalidConfigurationError(
            'role',
            "must not be a superuser, bypass row-level security, or be (a member of) the schema's owner",
          );
        }
        if (password !== undefined) await connection.query(`alter role ${quoted}${passwordClause}`);
      }
      const { rows: databases } = await connection.query<{ name: string }>(
        'select current_database() as name',
      );
      const database = quoteIdentifier(databases[0]?.name ?? '');
      await connection.query(`grant connect, temporary on database ${database} to ${quoted}`);
      await connection.query(appRoleGrantStatements(schema, role).join(';\n'));
      if (parsed.rowSecurity !== undefined) {
        await connection.query(rowSecurityStatements(schema, parsed.rowSecurity).join(';\n'));
      }
      await connection.query('commit');
      return { role, created: found === undefined };
    } catch (error) {
      await connection.query('rollback').catch(() => {});
      throw error;
    }
  });
}
