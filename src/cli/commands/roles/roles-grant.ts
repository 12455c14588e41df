import { grantAppRole } from '../../../migration/grant-app-role.js';
import { type CliCommand, ok } from '../../command.js';
import { stringFlag } from '../../flags.js';
import { UsageError } from '../../usage-error.js';

/** The environment variable `roles grant` reads the app role's password from (never a flag). */
export const APP_ROLE_PASSWORD_ENV = 'CAREBASE_APP_ROLE_PASSWORD';

/**
 * `carebase roles grant --app-role NAME`: makes NAME carebase's least-privilege app role
 * (`grantAppRole()`): creates it when missing, resets its privileges to exactly the documented
 * list. Connect as the schema's owner (the role that runs migrations).
 */
export const rolesGrantCommand: CliCommand = {
  path: ['roles', 'grant'],
  summary: "create or reset the least-privilege app role (run as the schema's owner, after migrate up)",
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: {
    'app-role': {
      type: 'string',
      value: 'NAME',
      description: 'the app role (created with LOGIN when missing)',
    },
  },
  details:
    `Grants exactly what the application needs at run time (docs/security.md): no DDL, no UPDATE,\n` +
    `DELETE or TRUNCATE on audit tables, no write access to the audit chain or seal state.\n` +
    `Privileges granted by hand are revoked. The app role's password, when it should be set, comes\n` +
    `from ${APP_ROLE_PASSWORD_ENV} (never the command line) and is sent as a SCRAM verifier.`,
  async run(context) {
    const role = stringFlag(context.values, 'app-role');
    if (role === undefined) throw new UsageError('roles grant needs --app-role NAME');
    const password = context.io.env[APP_ROLE_PASSWORD_ENV];
    const database = await context.database();
    const result = await grantAppRole(database.pool(), {
      role,
      schema: database.config.schema,
      ...(password === undefined || password === '' ? {} : { password }),
    });
    const json = { role: result.role, created: result.created, schema: database.config.schema };
    return ok(
      json,
      `${result.created ? 'created' : 'reset'} app role ${result.role} on schema ${database.config.schema}` +
        `${password === undefined || password === '' ? '' : ' (password set)'}`,
    );
  },
};
