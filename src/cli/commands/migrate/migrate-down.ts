import { describeDataLoss, losesData } from '../../../migration/data-loss.js';
import { carebaseMigrations } from '../../../migration/library.js';
import type { MigrateResult, MigrationPlanStep } from '../../../migration/options.js';
import { rollback } from '../../../migration/rollback.js';
import { LIBRARY_NAMESPACE } from '../../../migration/sources.js';
import { type CliCommand, ok } from '../../command.js';
import type { CliDatabase } from '../../connection.js';
import { integerFlag, stringFlag } from '../../flags.js';
import { formatTable } from '../../format-table.js';
import { UsageError } from '../../usage-error.js';
import { directUrlOf, HOST_FLAGS, hostSource, RUN_FLAGS, runOptions, showProgress } from './migrate-flags.js';

/**
 * `carebase migrate down`: rolls back one namespace's newest migrations. Nothing destructive by
 * default: the namespace must be named; carebase's own needs `--namespace carebase --force`; a
 * plan that drops, truncates or deletes rows needs `--force`. Every plan (dry run or real) lists
 * the tables each migration drops, with their row counts now.
 */
export const migrateDownCommand: CliCommand = {
  path: ['migrate', 'down'],
  summary: "roll back a namespace (default 1 step); refuses data loss and carebase's own without --force",
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: {
    ...HOST_FLAGS,
    namespace: {
      type: 'string',
      value: 'NS',
      description:
        "the history to roll back: yours (with --dir), or carebase's own (--namespace carebase --force)",
    },
    steps: { type: 'string', value: 'N', description: 'how many migrations to roll back (default 1)' },
    to: {
      type: 'string',
      value: 'NAME',
      description: 'roll back every migration after NAME (it stays applied)',
    },
    'dry-run': {
      type: 'boolean',
      description: 'print the plan with the rows each step drops; execute nothing',
    },
    force: {
      type: 'boolean',
      description: "allow dropping rows, and rolling back carebase's own migrations (drops its tables)",
    },
    ...RUN_FLAGS,
  },
  async run(context) {
    const { values } = context;
    const steps = integerFlag(values, 'steps', 1);
    const to = stringFlag(values, 'to');
    if (steps !== undefined && to !== undefined) throw new UsageError('give --steps or --to, not both');
    const namespace = stringFlag(values, 'namespace');
    const library = namespace === LIBRARY_NAMESPACE && stringFlag(values, 'dir') === undefined;
    const host = library
      ? undefined
      : namespace === undefined
        ? undefined
        : hostSource(values, context.io.cwd);
    const range = to === undefined ? { steps: steps ?? 1 } : { to };
    const database = await context.database();
    const common = {
      ...runOptions(values),
      ...range,
      schema: database.config.schema,
      signal: context.signal,
    };
    if (namespace === undefined) {
      const plan = await planOf(database, common, undefined);
      throw new UsageError(
        'migrate down needs --namespace: the history to roll back (yours: --dir DIR --namespace NS). ' +
          `Rolling back carebase's own needs --namespace carebase --force, and would now: ${summary(plan)}`,
        false,
      );
    }
    const force = values.force === true;
    const plan = await planOf(database, common, host);
    if (values['dry-run'] === true) {
      return ok({ plan: plan.plan, results: [] }, planText(plan.plan) || 'nothing to roll back');
    }
    if (library && !force) {
      throw new UsageError(
        `refusing to roll back carebase's own migrations without --force: ${summary(plan)}`,
        false,
      );
    }
    const losing = plan.plan.filter((step) => (step.dataLoss ?? []).some(losesData));
    if (losing.length > 0 && !force) {
      throw new UsageError(
        `refusing to roll back without --force: it would lose data: ${summary({ plan: losing, results: [] })}`,
        false,
      );
    }
    const bar = context.progress('rolling back');
    const result = await rollback(database.pool(), {
      ...directUrlOf(database, context.values),
      ...common,
      source: host ?? carebaseMigrations,
      allowLibraryRollback: library && force,
      allowDataLoss: force,
      onProgress: showProgress(bar),
    });
    bar.stop();
    const text =
      result.results.length === 0
        ? 'nothing to roll back'
        : `${planText(result.plan)}\n${result.results.length} migration${result.results.length === 1 ? '' : 's'} rolled back`;
    return ok({ plan: result.plan, results: result.results }, text);
  },
};

type Common = Parameters<typeof rollback>[1] & object;

function planOf(
  database: CliDatabase,
  common: Common,
  host: ReturnType<typeof hostSource>,
): Promise<MigrateResult> {
  return rollback(database.pool(), { ...common, source: host ?? carebaseMigrations, dryRun: true } as Common);
}

function summary(result: MigrateResult): string {
  if (result.plan.length === 0) return 'nothing to roll back';
  return result.plan
    .map((step) => `${step.namespace}/${step.name} ${describeDataLoss(step.dataLoss ?? [])}`)
    .join('; ');
}

function planText(plan: readonly MigrationPlanStep[]): string {
  if (plan.length === 0) return '';
  return formatTable(
    ['direction', 'namespace', 'migration', 'transaction', 'drops (rows now)'],
    plan.map((step) => [
      step.direction,
      step.namespace,
      step.name,
      step.transaction ? 'yes' : 'no',
      describeDataLoss(step.dataLoss ?? []),
    ]),
  );
}
