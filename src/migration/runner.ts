import { MigrationError } from '../errors/errors.js';
import { silentLogger } from '../logging/logger.js';
import { parseInput } from '../validation/parse-input.js';
import { type MigrationTarget, sessionTarget, withConnection } from './connection.js';
import { checkDrift, findDrift } from './drift.js';
import { loadSorted } from './load.js';
import { DEFAULT_LOCK_TIMEOUT_MS, withMigrationLock } from './lock.js';
import { lockPolicyFrom } from './lock-wait.js';
import {
  type MigrateOptions,
  MigrateOptionsSchema,
  type MigrateResult,
  type MigrationPlanStep,
} from './options.js';
import { planStep, runSteps, throwIfAborted } from './run-steps.js';
import { withLibrary } from './sources.js';
import { ensureTrackingTable, readApplied } from './tracking-table.js';
import type { MigrationDefinition, MigrationResult, MigrationSource } from './types.js';

export type { MigrateOptions, MigrateResult, MigrationPlanStep, MigrationRunOptions } from './options.js';

/**
 * Applies every pending migration of carebase's own source and then of each host source in
 * `sources`, in order, each in its own transaction (unless it is marked
 * `-- carebase:no-transaction`), while holding that source's advisory lock and the database's
 * maintenance lock (no backup runs meanwhile) on the one connection that runs them.
 *
 * Production safety: every statement runs with `lock_timeout` (`tableLockTimeoutMs`, default
 * 5 s), so a migration queued behind a long transaction blocks the table's readers for at most
 * that long; it is then rolled back and retried (`tableLockAttempts`, default 3, with backoff),
 * and finally fails with a `MigrationError` naming the blocking sessions (pid, application name).
 *
 * Concurrency: any number of processes MAY call `migrate` at once; each migration is applied
 * exactly once, the others wait for the lock and then find nothing pending. Waiting polls
 * `pg_try_advisory_lock` outside any transaction, so a waiter never blocks a concurrent
 * `CREATE INDEX CONCURRENTLY`.
 *
 * Throws `ValidationError` for bad options (before any SQL). Throws `MigrationError` when a
 * migration fails (that migration leaves nothing behind and is not recorded; `error.results`
 * lists every migration of the run with its status), when an applied migration was edited or is
 * missing (unless its source has `onDrift: 'warn'`), when `to` names no migration, or when a
 * lock is not obtained within `lockTimeoutMs` (the message names a running backup or runner), or
 * when a migration never got its table locks. Throws `AbortError` when `signal` fires (between
 * migrations).
 *
 * @example
 * ```ts
 * import { fileMigrations, migrate } from 'carebase/migration';
 * const { results } = await migrate(process.env.DATABASE_URL!, {
 *   sources: [fileMigrations('./db/migrations', { namespace: 'app' })], // after carebase's own
 * });
 * console.log(`${results.length} migrations applied`);
 * ```
 */
export async function migrate<DB>(
  target: MigrationTarget<DB>,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  parseInput(MigrateOptionsSchema, options, 'migrate options');
  const sources = withLibrary(options.sources, options.includeLibrary);
  const policy = lockPolicyFrom(options);
  const schema = options.schema ?? 'carebase';
  const logger = options.logger ?? silentLogger;
  const dryRun = options.dryRun === true;
  throwIfAborted(options.signal);
  const loaded: { source: MigrationSource; definitions: MigrationDefinition[] }[] = [];
  for (const source of sources) loaded.push({ source, definitions: await loadSorted(source) });
  const stopAt = options.to === undefined ? undefined : locateTarget(loaded, options.to);

  return withConnection(
    sessionTarget(target, options),
    async (connection) => {
      const results: MigrationResult[] = [];
      const plan: MigrationPlanStep[] = [];
      if (!dryRun) await ensureTrackingTable(connection, schema);
      for (const [sourceIndex, { source, definitions }] of loaded.entries()) {
        if (stopAt !== undefined && sourceIndex > stopAt.sourceIndex) break;
        const step = async (): Promise<void> => {
          const applied = await readApplied(connection, schema, source.namespace);
          checkDrift(source, findDrift(definitions, applied), logger);
          const done = new Set(applied.map((row) => row.name));
          const eligible =
            stopAt !== undefined && sourceIndex === stopAt.sourceIndex
              ? definitions.slice(0, stopAt.definitionIndex + 1)
              : definitions;
          const pending = eligible.filter((definition) => !done.has(definition.name));
          for (const definition of pending) plan.push(planStep(source, definition, 'up'));
          if (dryRun) return;
          await runSteps(connection, {
            schema,
            source,
            definitions: pending,
            direction: 'up',
            results,
            signal: options.signal,
            onProgress: options.onProgress,
            logger,
            policy,
          });
        };
        if (dryRun) await step();
        else {
          await withMigrationLock(
            connection,
            schema,
            source.namespace,
            { timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, signal: options.signal, logger },
            step,
          );
        }
      }
      return { results, plan };
    },
    { session: true },
  );
}

/** Finds `to` (`name` or `namespace/name`) among the loaded sources. */
function locateTarget(
  loaded: readonly { source: MigrationSource; definitions: readonly MigrationDefinition[] }[],
  to: string,
): { sourceIndex: number; definitionIndex: number } {
  const slash = to.indexOf('/');
  const namespace = slash === -1 ? undefined : to.slice(0, slash);
  const name = slash === -1 ? to : to.slice(slash + 1);
  for (const [sourceIndex, { source, definitions }] of loaded.entries()) {
    if (namespace !== undefined && source.namespace !== namespace) continue;
    const definitionIndex = definitions.findIndex((definition) => definition.name === name);
    if (definitionIndex !== -1) return { sourceIndex, definitionIndex };
  }
  throw new MigrationError(`no source has a migration named ${to}`, { migration: name });
}
