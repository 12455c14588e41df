import { MigrationError } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';
import { CHECKSUM_ALGORITHM } from './checksum.js';
import type { AppliedMigration } from './tracking-table.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/** Applied migrations whose normalized text changed, and applied migrations the source no longer has. */
export interface Drift {
  readonly changed: string[];
  readonly missing: string[];
}

/**
 * Compares a source's migrations with what the database recorded. A row whose checksum was made
 * by another algorithm version is not compared (it cannot be, without the old algorithm).
 */
export function findDrift(
  definitions: readonly MigrationDefinition[],
  applied: readonly AppliedMigration[],
): Drift {
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
  const changed: string[] = [];
  const missing: string[] = [];
  for (const row of applied) {
    const definition = byName.get(row.name);
    if (definition === undefined) missing.push(row.name);
    else if (row.checksum_algorithm === CHECKSUM_ALGORITHM && row.checksum !== definition.checksum) {
      changed.push(row.name);
    }
  }
  return { changed, missing };
}

/**
 * Stops the run with a `MigrationError` naming the first drifted migration (all of them in the
 * message), or logs a warning per migration when the source's `onDrift` is `'warn'`.
 */
export function checkDrift(source: MigrationSource, drift: Drift, logger: Logger): void {
  const problems = [
    ...drift.changed.map((name) => ({ name, what: 'was edited after it was applied' })),
    ...drift.missing.map((name) => ({ name, what: 'was applied but is missing from the source' })),
  ];
  if (problems.length === 0) return;
  if ((source.onDrift ?? 'error') === 'error') {
    const [first] = problems;
    const list = problems.map((problem) => `${source.namespace}/${problem.name} ${problem.what}`).join('; ');
    throw new MigrationError(`migration drift: ${list}`, { migration: first?.name });
  }
  for (const problem of problems) {
    logger.warn(
      { namespace: source.namespace, migration: problem.name },
      `carebase: migration ${source.namespace}/${problem.name} ${problem.what}`,
    );
  }
}
