import { migrate } from '../../../migration/runner.js';
import { type CliCommand, ok } from '../../command.js';
import { stringFlag } from '../../flags.js';
import { formatTable } from '../../format-table.js';
import { directUrlOf, HOST_FLAGS, hostSource, RUN_FLAGS, runOptions, showProgress } from './migrate-flags.js';

/** `carebase migrate up`: applies carebase's pending migrations, then the host folder's. */
export const migrateUpCommand: CliCommand = {
  path: ['migrate', 'up'],
  summary: "apply pending migrations: carebase's own, then --dir's",
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: {
    ...HOST_FLAGS,
    to: { type: 'string', value: 'NAME', description: 'stop after this migration (NAME or NS/NAME)' },
    'dry-run': { type: 'boolean', description: 'print the plan; execute nothing' },
    ...RUN_FLAGS,
  },
  details:
    'Each statement waits at most --table-lock-timeout for a table lock (so readers queued behind it wait\n' +
    'no longer); a migration that times out is rolled back and retried, then fails naming the blocking sessions.',
  async run(context) {
    const host = hostSource(context.values, context.io.cwd);
    const options = runOptions(context.values);
    const dryRun = context.values['dry-run'] === true;
    const to = stringFlag(context.values, 'to');
    const database = await context.database();
    const bar = context.progress('migrating');
    const result = await migrate(database.pool(), {
      ...directUrlOf(database, context.values),
      ...options,
      schema: database.config.schema,
      sources: host === undefined ? [] : [host],
      signal: context.signal,
      ...(to === undefined ? {} : { to }),
      ...(dryRun ? { dryRun: true } : {}),
      onProgress: showProgress(bar),
    });
    bar.stop();
    let text: string;
    if (dryRun) {
      text =
        result.plan.length === 0
          ? 'nothing to do'
          : formatTable(
              ['direction', 'namespace', 'migration', 'transaction', 'checksum'],
              result.plan.map((step) => [
                step.direction,
                step.namespace,
                step.name,
                step.transaction ? 'yes' : 'no',
                step.checksum.slice(0, 12),
              ]),
            );
    } else if (result.results.length === 0) {
      text = 'nothing to apply: the database is up to date';
    } else {
      text = `${result.results.map((step) => `applied ${step.namespace}/${step.name} (${step.durationMs} ms)`).join('\n')}\n${result.results.length} migration${result.results.length === 1 ? '' : 's'} applied`;
    }
    return ok({ plan: result.plan, results: result.results }, text);
  },
};
