import { isCarebaseError } from '../../../errors/errors.js';
import { type CliCommand, ok, problem } from '../../command.js';
import { stringFlag } from '../../flags.js';
import { HOST_FLAGS, hostSource } from '../migrate/migrate-flags.js';
import { checkClock } from './check-clock.js';
import { checkConnection } from './check-connection.js';
import { checkMigrations } from './check-migrations.js';
import { checkPartitions } from './check-partitions.js';
import { checkPasswordHashes } from './check-password-hashes.js';
import { checkPooler } from './check-pooler.js';
import { checkRoles } from './check-roles.js';
import { checkTools } from './check-tools.js';
import type { CheckResult, DoctorCheck, DoctorContext } from './doctor-check.js';

/** The checks, in the order they run and print. The connection check runs first (it finds the server version). */
const CHECKS: readonly DoctorCheck[] = [
  checkConnection,
  checkRoles,
  checkTools,
  checkMigrations,
  checkPartitions,
  checkPasswordHashes,
  checkPooler,
  checkClock,
];

/**
 * `carebase doctor`: checks what a deployment needs, and exits 1 when anything needs action
 * (a `warn` or `fail`): connection and TLS, server version, the role in use and its grants,
 * pg_dump/pg_restore, pending and drifted migrations, partitions ahead, imported legacy password hashes left
 * (info), a transaction pooler, clock skew.
 */
export const doctorCommand: CliCommand = {
  path: ['doctor'],
  summary:
    'check connection/TLS, versions, roles and grants, pg_dump, migrations, partitions, pooler, clock (exit 1 when anything needs action)',
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: {
    ...HOST_FLAGS,
    'app-role': {
      type: 'string',
      value: 'NAME',
      description: "check this role's privileges (default: the connected user), e.g. when run as the owner",
    },
  },
  async run(context) {
    const host = hostSource(context.values, context.io.cwd);
    const database = await context.database();
    const doctor: DoctorContext = {
      pool: database.pool(),
      config: database.config,
      appRole: stringFlag(context.values, 'app-role'),
      sources: host === undefined ? [] : [host],
      serverMajor: 0,
    };
    const checks: CheckResult[] = [];
    for (const check of CHECKS) {
      try {
        const result = await check(doctor);
        checks.push(...(Array.isArray(result) ? result : [result as CheckResult]));
      } catch (error) {
        // One failing check (a permission the connected role lacks) does not hide the others.
        if (!isCarebaseError(error) || error.code === 'CONNECTION_FAILED') throw error;
        checks.push({
          id: check.name
            .replace(/^check/, '')
            .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
            .replace(/^-/, ''),
          status: 'fail',
          summary: `could not check: ${error.message}`,
          hint: 'the connected role may lack a privilege this check needs (see roles)',
        });
      }
    }
    const needsAction = checks.filter((check) => check.status === 'warn' || check.status === 'fail');
    const width = Math.max(...checks.map((check) => check.id.length));
    const lines = [
      `carebase doctor: ${database.config.connection.displayUrl}, schema ${database.config.schema}`,
      '',
    ];
    for (const check of checks) {
      lines.push(`  ${check.status.padEnd(4)}  ${check.id.padEnd(width)}  ${check.summary}`);
      const indent = ' '.repeat(width + 10);
      for (const detail of check.details ?? []) lines.push(`${indent}${detail}`);
      if (check.hint !== undefined && check.status !== 'ok') lines.push(`${indent}-> ${check.hint}`);
    }
    lines.push(
      '',
      needsAction.length === 0
        ? 'nothing needs action'
        : `${needsAction.length} check${needsAction.length === 1 ? '' : 's'} need${needsAction.length === 1 ? 's' : ''} action: ${needsAction.map((check) => check.id).join(', ')}`,
    );
    const json = { database: database.config.connection.displayUrl, schema: database.config.schema, checks };
    return needsAction.length === 0 ? ok(json, lines.join('\n')) : problem(json, lines.join('\n'));
  },
};
