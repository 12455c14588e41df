import { AbortError, CarebaseError, MigrationError } from '../errors/errors.js';
import { toCarebaseError } from '../errors/map-error.js';
import { type Logger, silentLogger } from '../logging/logger.js';
import { CHECKSUM_ALGORITHM } from './checksum.js';
import { type MigrationTarget, type SqlConnection, withConnection } from './connection.js';
import { carebaseMigrations } from './library.js';
import { acquireMigrationLock, releaseMigrationLock } from './lock.js';
import type { MigrationDefinition, MigrationProgress, MigrationResult, MigrationSource } from './types.js';

/** Options shared by `migrate`, `rollback` and `migrationStatus`. */
export interface MigrationRunOptions {
  /**
   * The sources to run, in order.
   * @default [carebaseMigrations]
   */
  readonly sources?: readonly MigrationSource[];
  /**
   * The carebase schema: holds `schema_migrations` and is the `search_path` of sources with
   * `useCarebaseSchema`.
   * @default 'carebase'
   */
  readonly schema?: string;
  /** How long to wait for another runner's lock before failing. @default 60000 */
  readonly lockTimeoutMs?: number;
  /** Cancels the run between migrations. */
  readonly signal?: AbortSignal;
  /** Called before and after each migration. */
  readonly onProgress?: (progress: MigrationProgress) => void;
  /** Receives drift warnings and per-migration timings. @default silent */
  readonly logger?: Logger;
}

/** Options of `migrate`. */
export interface MigrateOptions extends MigrationRunOptions {
  /** Stop after applying this migration (by name). Applies to the source that has it. */
  readonly to?: string;
  /** Return the plan without executing anything (no lock is taken). */
  readonly dryRun?: boolean;
}

/** One step of a migration plan. */
export interface MigrationPlanStep {
  readonly namespace: string;
  readonly name: string;
  readonly checksum: string;
  readonly transaction: boolean;
}

/** What `migrate` did (or, with `dryRun`, would do). */
export interface MigrateResult {
  /** The migrations applied, in order; empty with `dryRun`. */
  readonly results: readonly MigrationResult[];
  /** The pending migrations that this run applies or would apply. */
  readonly plan: readonly MigrationPlanStep[];
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Quotes a schema name already checked against {@link IDENTIFIER}. */
export function quoteSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new MigrationError('the carebase schema name must be a lower-case identifier');
  }
  return `"${schema}"`;
}

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  readonly name: string;
  readonly checksum: string;
  readonly checksum_algorithm: number;
  readonly applied_at: Date;
}

/** Creates the carebase schema and `schema_migrations` if missing; safe under concurrency. */
export async function ensureTrackingTable(connection: SqlConnection, schema: string): Promise<void> {
  const q = quoteSchema(schema);
  await connection.query('begin');
  try {
    await connection.query("select pg_advisory_xact_lock(hashtext('carebase.migrate.bootstrap'))");
    await connection.query(`create schema if not exists ${q}`);
    await connection.query(
      `create table if not exists ${q}.schema_migrations (
        namespace text not null,
        name text not null,
        checksum text not null,
        checksum_algorithm smallint not null,
        applied_at timestamptz not null default now(),
        execution_ms integer not null,
        primary key (namespace, name)
      )`,
    );
    await connection.query('commit');
  } catch (error) {
    await connection.query('rollback').catch(() => {});
    throw error;
  }
}

/** Reads the applied migrations of `namespace`; none when the tracking table does not exist yet. */
export async function readApplied(
  connection: SqlConnection,
  schema: string,
  namespace: string,
): Promise<AppliedMigration[]> {
  const exists = await connection.query<{ exists: boolean }>('select to_regclass($1) is not null as exists', [
    `${quoteSchema(schema)}.schema_migrations`,
  ]);
  if (exists.rows[0]?.exists !== true) return [];
  const { rows } = await connection.query<AppliedMigration>(
    `select name, checksum, checksum_algorithm, applied_at from ${quoteSchema(schema)}.schema_migrations
     where namespace = $1 order by name`,
    [namespace],
  );
  return rows;
}

/** Loads a source's migrations, sorted by name, refusing duplicates. */
export async function loadSorted(source: MigrationSource): Promise<MigrationDefinition[]> {
  const definitions = [...(await source.load())].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (let i = 1; i < definitions.length; i++) {
    if (definitions[i]?.name === definitions[i - 1]?.name) {
      throw new MigrationError(
        `source ${source.namespace} has two migrations named ${definitions[i]?.name}`,
        {
          migration: definitions[i]?.name,
        },
      );
    }
  }
  return definitions;
}

/** Applied migrations whose text changed, and applied migrations the source no longer has. */
export function findDrift(
  definitions: readonly MigrationDefinition[],
  applied: readonly AppliedMigration[],
): { changed: string[]; missing: string[] } {
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

function checkDrift(
  source: MigrationSource,
  drift: { changed: string[]; missing: string[] },
  logger: Logger,
): void {
  const problems = [
    ...drift.changed.map((name) => ({ name, what: 'was edited after it was applied' })),
    ...drift.missing.map((name) => ({ name, what: 'was applied but is missing from the source' })),
  ];
  for (const problem of problems) {
    const message = `migration ${source.namespace}/${problem.name} ${problem.what}`;
    if ((source.onDrift ?? 'error') === 'error')
      throw new MigrationError(message, { migration: problem.name });
    logger.warn({ namespace: source.namespace, migration: problem.name }, `carebase: ${message}`);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError({ cause: signal.reason });
}

/** Runs one migration's SQL (up or down) with its transaction mode and records the outcome. */
export async function runMigrationSql(
  connection: SqlConnection,
  options: {
    schema: string;
    source: MigrationSource;
    definition: MigrationDefinition;
    direction: 'up' | 'down';
  },
): Promise<number> {
  const { schema, source, definition, direction } = options;
  const q = quoteSchema(schema);
  const text = direction === 'up' ? definition.up : (definition.down ?? '');
  const useSchema = source.useCarebaseSchema === true;
  const started = performance.now();
  const record = async (): Promise<number> => {
    const elapsed = Math.round(performance.now() - started);
    if (direction === 'up') {
      await connection.query(
        `insert into ${q}.schema_migrations (namespace, name, checksum, checksum_algorithm, execution_ms)
         values ($1, $2, $3, $4, $5)`,
        [source.namespace, definition.name, definition.checksum, CHECKSUM_ALGORITHM, elapsed],
      );
    } else {
      await connection.query(`delete from ${q}.schema_migrations where namespace = $1 and name = $2`, [
        source.namespace,
        definition.name,
      ]);
    }
    return elapsed;
  };
  if (definition.transaction) {
    await connection.query('begin');
    try {
      await connection.query('set local statement_timeout = 0');
      if (useSchema) await connection.query(`set local search_path to ${q}`);
      await connection.query(text);
      const elapsed = await record();
      await connection.query('commit');
      return elapsed;
    } catch (error) {
      await connection.query('rollback').catch(() => {});
      throw error;
    }
  }
  // Outside a transaction (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE): session settings,
  // reset afterwards. A failure here can leave partial effects (e.g. an INVALID index).
  await connection.query('set statement_timeout = 0');
  if (useSchema) await connection.query(`set search_path to ${q}`);
  try {
    await connection.query(text);
  } finally {
    await connection.query('reset search_path').catch(() => {});
    await connection.query('reset statement_timeout').catch(() => {});
  }
  return record();
}

function failure(error: unknown): { code: string; message: string } {
  const mapped = error instanceof CarebaseError ? error : toCarebaseError(error);
  return { code: mapped.code, message: mapped.message };
}

/**
 * Applies every pending migration of each source, in order, each in its own transaction (unless
 * it opts out), while holding a per-namespace advisory lock on the same connection.
 *
 * Concurrency: any number of processes may call `migrate` at once; each migration is applied
 * exactly once and the others wait, then find nothing pending. Waiting polls
 * `pg_try_advisory_lock` outside any transaction, so a waiter never blocks a concurrent
 * `CREATE INDEX CONCURRENTLY`.
 *
 * Throws `MigrationError` when a migration fails (that migration is rolled back and not
 * recorded; `error.results` lists what ran), when an applied migration drifted, or when the lock
 * is not obtained within `lockTimeoutMs`.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, fileMigrations, migrate } from 'carebase/migration';
 * await migrate(process.env.DATABASE_URL!, {
 *   sources: [carebaseMigrations, fileMigrations('./db/migrations', { namespace: 'app' })],
 * });
 * ```
 */
export async function migrate<DB>(
  target: MigrationTarget<DB>,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const sources = options.sources ?? [carebaseMigrations];
  const schema = options.schema ?? 'carebase';
  const logger = options.logger ?? silentLogger;
  quoteSchema(schema);
  throwIfAborted(options.signal);
  return withConnection(target, async (connection) => {
    const results: MigrationResult[] = [];
    const plan: MigrationPlanStep[] = [];
    if (options.dryRun !== true) await ensureTrackingTable(connection, schema);
    for (const source of sources) {
      const definitions = await loadSorted(source);
      if (options.dryRun !== true) {
        await acquireMigrationLock(connection, schema, source.namespace, {
          timeoutMs: options.lockTimeoutMs ?? 60_000,
          signal: options.signal,
        });
      }
      try {
        const applied = await readApplied(connection, schema, source.namespace);
        checkDrift(source, findDrift(definitions, applied), logger);
        const done = new Set(applied.map((row) => row.name));
        let pending = definitions.filter((definition) => !done.has(definition.name));
        if (options.to !== undefined) {
          const stop = pending.findIndex((definition) => definition.name === options.to);
          if (stop >= 0) pending = pending.slice(0, stop + 1);
          else if (definitions.some((definition) => definition.name === options.to)) pending = [];
        }
        for (const definition of pending) {
          plan.push({
            namespace: source.namespace,
            name: definition.name,
            checksum: definition.checksum,
            transaction: definition.transaction,
          });
        }
        if (options.dryRun === true) continue;
        for (const [index, definition] of pending.entries()) {
          throwIfAborted(options.signal);
          const progress = { namespace: source.namespace, name: definition.name, direction: 'up' as const };
          options.onProgress?.({ ...progress, phase: 'start', index, total: pending.length });
          try {
            const durationMs = await runMigrationSql(connection, {
              schema,
              source,
              definition,
              direction: 'up',
            });
            results.push({ ...progress, status: 'applied', durationMs });
            logger.info({ ...progress, durationMs }, 'carebase: migration applied');
          } catch (error) {
            results.push({ ...progress, status: 'failed', durationMs: 0, error: failure(error) });
            throw new MigrationError(
              `migration ${source.namespace}/${definition.name} failed`,
              {
                migration: definition.name,
                results,
              },
              { cause: error },
            );
          }
          options.onProgress?.({ ...progress, phase: 'done', index, total: pending.length });
        }
      } finally {
        if (options.dryRun !== true) {
          // A broken connection cannot hold the lock: the server released it when the session died.
          await releaseMigrationLock(connection, schema, source.namespace).catch((error: unknown) => {
            logger.warn(
              { namespace: source.namespace, code: failure(error).code },
              'carebase: could not release migration lock',
            );
          });
        }
      }
    }
    return { results, plan };
  });
}
