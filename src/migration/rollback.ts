import { MigrationError } from '../errors/errors.js';
import { silentLogger } from '../logging/logger.js';
import { parseInput } from '../validation/parse-input.js';
import { type MigrationTarget, sessionTarget, withConnection } from './connection.js';
import { analyzeDataLoss, describeDataLoss, losesData } from './data-loss.js';
import { checkDrift, findDrift } from './drift.js';
import { carebaseMigrations } from './library.js';
import { loadSorted } from './load.js';
import { DEFAULT_LOCK_TIMEOUT_MS, withMigrationLock } from './lock.js';
import { lockPolicyFrom } from './lock-wait.js';
import { type MigrateResult, type RollbackOptions, RollbackOptionsSchema } from './options.js';
import { planStep, runSteps, throwIfAborted } from './run-steps.js';
import { LIBRARY_NAMESPACE } from './sources.js';
import { readApplied } from './tracking-table.js';
import type { MigrationDefinition, MigrationResult } from './types.js';

/**
 * Rolls back the newest applied migrations of one source (newest by name first), running each
 * one's `-- carebase:down` section in its own transaction (unless marked
 * `-- carebase:no-transaction`) and removing it from `schema_migrations`. Roll back `steps`
 * migrations (default 1), or every migration after `to` (which stays applied).
 *
 * Nothing destructive by default. Every migration in the range is checked before anything runs,
 * and nothing is rolled back (a `MigrationError` says why and what would be dropped) when:
 * one has no down section or is missing from the source; the source is carebase's own and
 * `allowLibraryRollback` is not set; or a down section would drop, truncate or delete rows that
 * exist now (or its effect cannot be analysed) and `allowDataLoss` is not set. Each plan step
 * lists its `dataLoss` (tables and current row counts), in a dry run too.
 *
 * Concurrency: holds the source's migration lock, like `migrate`, so a rollback and a migrate of
 * the same namespace never interleave.
 *
 * Throws `ValidationError` for bad options (before any SQL), `MigrationError` as above, when a
 * down section fails (that migration stays applied; `error.results` lists the run), when `to` is
 * not applied, or when the lock times out; `AbortError` when `signal` fires between migrations.
 *
 * @example
 * ```ts
 * import { fileMigrations, rollback } from 'carebase/migration';
 * const app = fileMigrations('./db/migrations', { namespace: 'app' });
 * // Look first: what would two steps drop?
 * const { plan } = await rollback(process.env.DATABASE_URL!, { source: app, steps: 2, dryRun: true });
 * console.log(plan.map((step) => [step.name, step.dataLoss]));
 * await rollback(process.env.DATABASE_URL!, { source: app, steps: 2, allowDataLoss: true });
 * await rollback(process.env.DATABASE_URL!, { source: app, to: '0001_init' });
 * ```
 */
export async function rollback<DB>(
  target: MigrationTarget<DB>,
  options: RollbackOptions = {},
): Promise<MigrateResult> {
  parseInput(RollbackOptionsSchema, options, 'rollback options');
  const source = options.source ?? carebaseMigrations;
  const schema = options.schema ?? 'carebase';
  const logger = options.logger ?? silentLogger;
  const policy = lockPolicyFrom(options);
  const isLibrary = source.namespace === LIBRARY_NAMESPACE;
  throwIfAborted(options.signal);
  const definitions = await loadSorted(source);
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));

  return withConnection(
    sessionTarget(target, options),
    async (connection) => {
      const results: MigrationResult[] = [];
      const work = async (): Promise<MigrateResult> => {
        const applied = await readApplied(connection, schema, source.namespace);
        checkDrift(source, findDrift(definitions, applied), logger);
        const newestFirst = applied.map((row) => row.name).reverse();
        let names: string[];
        if (options.to !== undefined) {
          const keep = newestFirst.indexOf(options.to);
          if (keep === -1) {
            throw new MigrationError(
              `cannot roll back to ${source.namespace}/${options.to}: it is not applied`,
              { migration: options.to },
            );
          }
          names = newestFirst.slice(0, keep);
        } else {
          names = newestFirst.slice(0, options.steps ?? 1);
        }
        const range: MigrationDefinition[] = names.map((name) => {
          const definition = byName.get(name);
          if (definition === undefined) {
            throw new MigrationError(
              `cannot roll back ${source.namespace}/${name}: the source no longer has it`,
              { migration: name },
            );
          }
          if (definition.down === undefined) {
            const what =
              definition.code === undefined ? 'has no "-- carebase:down" section' : 'exports no down(db)';
            throw new MigrationError(`cannot roll back ${source.namespace}/${name}: it ${what}`, {
              migration: name,
            });
          }
          return definition;
        });
        const plan = [];
        for (const definition of range) {
          const dataLoss = await analyzeDataLoss(
            connection,
            definition,
            source.useCarebaseSchema === true ? schema : undefined,
          );
          plan.push({ ...planStep(source, definition, 'down'), dataLoss });
        }
        if (options.dryRun === true) return { results, plan };
        const summary = plan
          .map((step) => `${step.namespace}/${step.name} ${describeDataLoss(step.dataLoss)}`)
          .join('; ');
        if (isLibrary && options.allowLibraryRollback !== true) {
          throw new MigrationError(
            `refusing to roll back carebase's own migrations without allowLibraryRollback: true ` +
              `(CLI: --namespace carebase --force): ${summary}`,
            { migration: plan[0]?.name },
          );
        }
        const losing = plan.filter((step) => step.dataLoss.some(losesData));
        if (losing.length > 0 && options.allowDataLoss !== true) {
          throw new MigrationError(
            `refusing to roll back: it would lose data, and allowDataLoss is not set (CLI: --force): ${losing
              .map((step) => `${step.namespace}/${step.name} ${describeDataLoss(step.dataLoss)}`)
              .join('; ')}`,
            { migration: losing[0]?.name },
          );
        }
        await runSteps(connection, {
          schema,
          source,
          definitions: range,
          direction: 'down',
          results,
          signal: options.signal,
          onProgress: options.onProgress,
          logger,
          policy,
        });
        return { results, plan };
      };
      if (options.dryRun === true) return work();
      return withMigrationLock(
        connection,
        schema,
        source.namespace,
        { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, signal: options.signal, logger },
        work,
      );
    },
    { session: true },
  );
}
