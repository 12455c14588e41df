import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { MigrationError } from '../../errors/errors.js';
import { fileMigrations } from '../../migration/file-source.js';
import { carebaseMigrations } from '../../migration/library.js';
import type { MigrateResult } from '../../migration/options.js';
import { rollback } from '../../migration/rollback.js';
import { migrate } from '../../migration/runner.js';
import { migrationStatus } from '../../migration/status.js';
import type { MigrationProgress, MigrationSource } from '../../migration/types.js';
import { CONNECTION_FLAGS, parseFlags, positiveInteger } from '../args.js';
import { type CliCommand, type CliIo, UsageError } from '../command.js';
import { openDatabase } from '../database-target.js';
import { formatTable } from '../format-table.js';

const USAGE = `Usage:
  carebase migrate up      [--to NAME] [--dry-run] [--json]     apply pending migrations
  carebase migrate down    [--steps N | --to NAME] [--dry-run] [--json]
                                                                roll back (default: 1 step)
  carebase migrate status  [--json]                             applied / pending / changed / missing
  carebase migrate create  NAME [--dir DIR]                     new NNNN_NAME.sql (default dir: migrations)

Options:
  --url URL            database URL (default: DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD)
  --schema NAME        carebase schema (default: CAREBASE_SCHEMA, or carebase)
  --dir DIR            a host app's migration folder, run after carebase's own (needs --namespace)
  --namespace NS       that folder's history namespace; down rolls back this source
  --lock-timeout MS    how long to wait for another runner's lock (default 60000)
  --json               machine-readable output
`;

const FLAGS = {
  ...CONNECTION_FLAGS,
  dir: { type: 'string' },
  namespace: { type: 'string' },
  to: { type: 'string' },
  steps: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'lock-timeout': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>['values'];

/**
 * `carebase migrate up|down|status|create`: the migration runner from the command line.
 *
 * @example
 * ```sh
 * DATABASE_URL=postgres://app@db/app npx carebase migrate up --dir ./db/migrations --namespace app
 * npx carebase migrate status --json
 * ```
 */
export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'apply, roll back, inspect or create migrations (up | down | status | create)',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, FLAGS);
    const [action, ...rest] = positionals;
    if (values.help === true) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (action === 'create') return create(rest, values, io);
    if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
    if (action !== 'up' && action !== 'down' && action !== 'status') {
      throw new UsageError(action === undefined ? 'missing action' : `unknown action: ${action}`);
    }
    if (action !== 'down' && values.steps !== undefined) throw new UsageError('--steps is for migrate down');
    if (action === 'status' && (values.to !== undefined || values['dry-run'] === true)) {
      throw new UsageError('status takes no --to or --dry-run');
    }
    const host = hostSource(values);
    const lockTimeoutMs = positiveInteger(values['lock-timeout'], '--lock-timeout', 0);
    const steps = positiveInteger(values.steps, '--steps');
    if (steps !== undefined && values.to !== undefined)
      throw new UsageError('give --steps or --to, not both');
    const database = openDatabase(io.env, { url: values.url, schema: values.schema });
    const common = {
      schema: database.config.schema,
      ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    };
    try {
      if (action === 'status') {
        const sources = host === undefined ? [carebaseMigrations] : [carebaseMigrations, host];
        const statuses = await migrationStatus(database.pool, { sources, schema: database.config.schema });
        if (values.json === true) {
          io.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
          return 0;
        }
        io.stdout.write(
          `database ${database.config.connection.displayUrl}, schema ${database.config.schema}\n\n`,
        );
        const rows: string[][] = [];
        for (const status of statuses) {
          const changed = new Set(status.changed);
          for (const applied of status.applied) {
            const state = status.missing.includes(applied.name)
              ? 'missing'
              : changed.has(applied.name)
                ? 'changed'
                : 'applied';
            rows.push([status.namespace, applied.name, state, applied.appliedAt.toISOString()]);
          }
          for (const name of status.pending) rows.push([status.namespace, name, 'pending', '']);
        }
        io.stdout.write(formatTable(['namespace', 'migration', 'state', 'applied at'], rows));
        const pending = statuses.reduce((sum, status) => sum + status.pending.length, 0);
        const drifted = statuses.reduce(
          (sum, status) => sum + status.changed.length + status.missing.length,
          0,
        );
        io.stdout.write(`\n${pending} pending, ${drifted} changed or missing\n`);
        return 0;
      }
      const onProgress = values.json === true || values['dry-run'] === true ? undefined : progressPrinter(io);
      let result: MigrateResult;
      try {
        if (action === 'up') {
          result = await migrate(database.pool, {
            ...common,
            sources: host === undefined ? [carebaseMigrations] : [carebaseMigrations, host],
            ...(values.to === undefined ? {} : { to: values.to }),
            ...(values['dry-run'] === true ? { dryRun: true } : {}),
            ...(onProgress === undefined ? {} : { onProgress }),
          });
        } else {
          const range = values.to !== undefined ? { to: values.to } : { steps: steps ?? 1 };
          result = await rollback(database.pool, {
            ...common,
            ...range,
            source: host ?? carebaseMigrations,
            ...(values['dry-run'] === true ? { dryRun: true } : {}),
            ...(onProgress === undefined ? {} : { onProgress }),
          });
        }
      } catch (error) {
        if (values.json === true && error instanceof MigrationError) {
          io.stdout.write(
            `${JSON.stringify({ error: { code: error.code, message: error.message, migration: error.migration }, results: error.results }, null, 2)}\n`,
          );
        }
        throw error;
      }
      if (values.json === true) {
        io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else if (values['dry-run'] === true) {
        io.stdout.write(
          result.plan.length === 0
            ? 'nothing to do\n'
            : formatTable(
                ['direction', 'namespace', 'migration', 'transaction', 'checksum'],
                result.plan.map((step) => [
                  step.direction,
                  step.namespace,
                  step.name,
                  step.transaction ? 'yes' : 'no',
                  step.checksum.slice(0, 12),
                ]),
              ),
        );
      } else {
        const verb = action === 'up' ? 'applied' : 'rolled back';
        io.stdout.write(
          result.results.length === 0
            ? action === 'up'
              ? 'nothing to apply: the database is up to date\n'
              : 'nothing to roll back\n'
            : `${result.results.length} migration${result.results.length === 1 ? '' : 's'} ${verb}\n`,
        );
      }
      return 0;
    } finally {
      await database.close();
    }
  },
};

function hostSource(values: Values): MigrationSource | undefined {
  if (values.dir === undefined && values.namespace === undefined) return undefined;
  if (values.dir === undefined || values.namespace === undefined) {
    throw new UsageError('--dir and --namespace go together');
  }
  try {
    return fileMigrations(values.dir, { namespace: values.namespace });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'invalid --namespace');
  }
}

function progressPrinter(io: CliIo): (progress: MigrationProgress) => void {
  const started = new Map<string, number>();
  return (progress) => {
    const key = `${progress.namespace}/${progress.name}`;
    if (progress.phase === 'start') {
      started.set(key, performance.now());
      return;
    }
    const ms = Math.round(performance.now() - (started.get(key) ?? performance.now()));
    io.stdout.write(`${progress.direction === 'up' ? 'applied' : 'rolled back'} ${key} (${ms} ms)\n`);
  };
}

const NAME = /^[a-z0-9][a-z0-9_]{0,80}$/;

function create(rest: readonly string[], values: Values, io: CliIo): number {
  const [raw, extra] = rest;
  if (raw === undefined) throw new UsageError('migrate create needs a NAME');
  if (extra !== undefined) throw new UsageError(`unexpected argument: ${extra}`);
  const name = raw.toLowerCase().replace(/[\s-]+/g, '_');
  if (!NAME.test(name)) throw new UsageError('NAME must be lower-case letters, digits and underscores');
  const dir = resolve(io.cwd, values.dir ?? 'migrations');
  mkdirSync(dir, { recursive: true });
  const existing = readdirSync(dir).filter((file) => file.endsWith('.sql'));
  const prefix = nextPrefix(existing);
  const file = join(dir, `${prefix}_${name}.sql`);
  if (existsSync(file)) throw new UsageError(`${relative(io.cwd, file)} already exists`);
  writeFileSync(
    file,
    `-- ${prefix}_${name}\n` +
      '-- Runs in one transaction. For CREATE INDEX CONCURRENTLY or ALTER TYPE ... ADD VALUE, make the\n' +
      '-- first line of this file: -- carebase:no-transaction\n\n\n' +
      '-- carebase:down\n\n',
    { flag: 'wx' },
  );
  io.stdout.write(`created ${relative(io.cwd, file) || file}\n`);
  return 0;
}

/** The next `NNNN` after the highest four-digit prefix, or a UTC timestamp when the folder uses those. */
function nextPrefix(files: readonly string[]): string {
  if (files.some((file) => /^\d{14}_/.test(file))) {
    return new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  }
  const numbers = files
    .map((file) => /^(\d{4})_/.exec(file)?.[1])
    .filter((n) => n !== undefined)
    .map(Number);
  return String(Math.max(0, ...numbers) + 1).padStart(4, '0');
}
