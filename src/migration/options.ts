import { z } from 'zod';
import { SchemaNameSchema } from '../config/options.js';
import type { Logger } from '../logging/logger.js';
import type { MigrationProgress, MigrationResult, MigrationSource } from './types.js';

/**
 * Options shared by `migrate`, `rollback` and `migrationStatus`.
 *
 * @example
 * ```ts
 * import { migrate, migrationStatus, type MigrationRunOptions } from 'carebase/migration';
 * // Settings shared by every call of a deploy script.
 * const common: MigrationRunOptions = { schema: 'carebase', lockTimeoutMs: 30_000, logger };
 * await migrate(connectionString, { ...common, dryRun: true });
 * console.log(await migrationStatus(connectionString, common));
 * ```
 */
export interface MigrationRunOptions {
  /**
   * A URL reaching the server directly (like Prisma's `directUrl`): when given, the run connects
   * there instead of to `target`. Migrations hold session-level advisory locks and settings for
   * the whole run, which a transaction pooler cannot keep; a run whose connection turns out to go
   * through a pooler (the server backend is not the one the connection was opened to) fails with
   * a `MigrationError` before any lock is taken.
   */
  readonly directUrl?: string | undefined;
  /**
   * Host sources, run in order after carebase's own migrations (which always run first unless
   * `includeLibrary` is false). Their namespaces must differ. Passing `carebaseMigrations` here
   * too is allowed and changes nothing.
   * @default [] (carebase's own only)
   */
  readonly sources?: readonly MigrationSource[];
  /**
   * Run carebase's own migrations first (the default). `false` runs exactly `sources`: for a
   * deploy step that owns only the app's history.
   * @default true
   */
  readonly includeLibrary?: boolean;
  /**
   * The carebase schema: holds `schema_migrations` and is the `search_path` of sources with
   * `useCarebaseSchema`.
   * @default 'carebase' (env `CAREBASE_SCHEMA` through `configFromEnv`)
   */
  readonly schema?: string;
  /**
   * How long to wait for another runner's lock on a namespace (or for a running backup of the
   * database) before failing with a `MigrationError` that says who holds it. `0` means try once.
   * @default 60000
   */
  readonly lockTimeoutMs?: number;
  /**
   * PostgreSQL `lock_timeout` of every migration statement: the longest a statement waits for a
   * table lock, and so the longest it can hold up the reads and writes queued behind it. A
   * migration that times out is rolled back and retried (see `tableLockAttempts`). Not applied
   * to `CONCURRENTLY` statements, whose waits block nobody. `0` waits forever (not advised).
   * @default 5000
   */
  readonly tableLockTimeoutMs?: number;
  /**
   * How many times a migration is tried when it cannot get its locks within
   * `tableLockTimeoutMs`; after the last, `MigrationError` names the blocking sessions.
   * @default 3
   */
  readonly tableLockAttempts?: number;
  /**
   * Pause before the second attempt; doubled for each further one, with jitter.
   * @default 1000
   */
  readonly tableLockRetryDelayMs?: number;
  /**
   * PostgreSQL `statement_timeout` of every migration statement. `0` lets a statement run as
   * long as it needs (a backfill, an index build).
   * @default 0
   */
  readonly statementTimeoutMs?: number;
  /** Cancels the run between migrations (the migration under way finishes or rolls back first). */
  readonly signal?: AbortSignal;
  /** Called before (`phase: 'start'`) and after (`phase: 'done'`) each migration. */
  readonly onProgress?: (progress: MigrationProgress) => void;
  /** Receives drift warnings and per-migration timings. @default silent */
  readonly logger?: Logger;
}

/**
 * Options of `migrate`.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, fileMigrations, type MigrateOptions, migrate } from 'carebase/migration';
 * const options: MigrateOptions = {
 *   sources: [carebaseMigrations, fileMigrations('./migrations', { namespace: 'app' })],
 *   to: 'app/0007_add_ward', // stop after this one
 *   lockTimeoutMs: 120_000,
 *   onProgress: (p) => console.log(`${p.index + 1}/${p.total} ${p.namespace}/${p.name} ${p.phase}`),
 * };
 * await migrate(connectionString, options);
 * ```
 */
export interface MigrateOptions extends MigrationRunOptions {
  /**
   * Stop after applying this migration: a name (`0003_notes`) or `namespace/name`. Sources
   * before the one that has it are applied fully; sources after it are not run.
   * Throws `MigrationError` when no source has it.
   */
  readonly to?: string;
  /** Return the plan without executing anything (no lock is taken, nothing is created). */
  readonly dryRun?: boolean;
}

/**
 * Options of `rollback`: which source, and how far back (`steps`, default 1, or `to`).
 *
 * @example
 * ```ts
 * import { fileMigrations, type RollbackOptions, rollback } from 'carebase/migration';
 * // Undo the app's migrations after 0005_wards (it stays applied); carebase's own are untouched.
 * const options: RollbackOptions = {
 *   source: fileMigrations('./migrations', { namespace: 'app' }),
 *   to: '0005_wards',
 * };
 * const { results } = await rollback(connectionString, options);
 * console.log(results.map((result) => `${result.name}: ${result.status}`));
 * ```
 */
export type RollbackOptions = Omit<MigrationRunOptions, 'sources' | 'includeLibrary'> & {
  /**
   * The source to roll back. Rolling back carebase's own (`carebaseMigrations`, the default)
   * also needs `allowLibraryRollback: true`.
   * @default carebaseMigrations
   */
  readonly source?: MigrationSource;
  /**
   * Confirms a rollback of carebase's own migrations, which drops the library's tables (users,
   * sessions, audit log, chat, analytics). Without it such a rollback is refused with a
   * `MigrationError` listing what it would drop. Not needed for `dryRun`.
   * @default false
   */
  readonly allowLibraryRollback?: boolean;
  /**
   * Confirms a rollback whose down sections drop, truncate or delete rows that exist (or whose
   * effect cannot be analysed: code migrations, unparsable SQL). Without it such a rollback is
   * refused with a `MigrationError` listing the tables and their row counts.
   * @default false
   */
  readonly allowDataLoss?: boolean;
  /** Return the plan (with each step's `dataLoss`) without executing anything. */
  readonly dryRun?: boolean;
} & (
    | {
        /** How many applied migrations to roll back, newest (by name) first. @default 1 */
        readonly steps?: number;
        readonly to?: never;
      }
    | {
        /** Roll back every applied migration after this one; it stays applied. */
        readonly to: string;
        readonly steps?: never;
      }
  );

/**
 * One step of a migration plan, as JSON.
 *
 * @example
 * ```ts
 * import { migrate, type MigrationPlanStep } from 'carebase/migration';
 * // Review a deploy's plan, flagging steps that cannot run in a transaction.
 * const { plan } = await migrate(connectionString, { dryRun: true });
 * const unsafe: MigrationPlanStep[] = plan.filter((step) => !step.transaction);
 * if (unsafe.length > 0)
 *   console.warn(`outside a transaction: ${unsafe.map((step) => step.name).join(', ')}`);
 * ```
 */
export interface MigrationPlanStep {
  readonly namespace: string;
  readonly name: string;
  readonly direction: 'up' | 'down';
  readonly checksum: string;
  /** False for migrations marked `-- carebase:no-transaction`. */
  readonly transaction: boolean;
  /**
   * For `down` steps: what the down section drops, truncates or deletes, with the rows there
   * now. An entry with `table: '*'` means the effect could not be analysed.
   */
  readonly dataLoss?: readonly DataLossEffect[];
}

/**
 * One destructive effect of a down section, as a rollback plan reports it.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, rollback } from 'carebase/migration';
 * const { plan } = await rollback(connectionString, { source: carebaseMigrations, steps: 2, dryRun: true });
 * for (const step of plan)
 *   for (const effect of step.dataLoss ?? []) console.log(step.name, effect.action, effect.table, effect.rows);
 * ```
 */
export interface DataLossEffect {
  readonly action: 'drop table' | 'drop schema' | 'truncate' | 'drop column' | 'delete' | 'unknown';
  /** The table, schema-qualified as the database resolved it (as written when it does not exist). */
  readonly table: string;
  /** For `drop column`. */
  readonly column?: string;
  /** Rows in the table now; `undefined` when it does not exist or the effect is unknown. */
  readonly rows: number | undefined;
  /** True when counting stopped at the cap (1,000,000): there are at least `rows` rows. */
  readonly rowsAtLeast?: boolean;
  /** Why the effect could not be analysed, for `action: 'unknown'`. */
  readonly reason?: string;
}

/**
 * What `migrate` or `rollback` did (or, with `dryRun`, would do).
 *
 * @example
 * ```ts
 * import type { MigrateResult } from 'carebase/migration';
 * const result: MigrateResult = await cb.migrate();
 * for (const step of result.results) logger.info({ migration: step.name, ms: step.durationMs }, 'applied');
 * ```
 */
export interface MigrateResult {
  /** The migrations applied (or rolled back), in order; empty with `dryRun`. */
  readonly results: readonly MigrationResult[];
  /** The migrations this run applies (or rolls back), in order. */
  readonly plan: readonly MigrationPlanStep[];
}

const isFunction = (value: unknown): boolean => typeof value === 'function';

const SourceSchema = z.custom<MigrationSource>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as MigrationSource).namespace === 'string' &&
    isFunction((value as MigrationSource).load),
  'must be a migration source (carebaseMigrations or fileMigrations(...))',
);

const milliseconds = z.number().int().min(0).max(2_147_483_647);

const common = {
  directUrl: z.string().min(1).optional(),
  schema: SchemaNameSchema.optional(),
  lockTimeoutMs: milliseconds.optional(),
  tableLockTimeoutMs: milliseconds.optional(),
  tableLockAttempts: z.number().int().min(1).max(100).optional(),
  tableLockRetryDelayMs: milliseconds.optional(),
  statementTimeoutMs: milliseconds.optional(),
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal, 'must be an AbortSignal').optional(),
  onProgress: z.custom<(progress: MigrationProgress) => void>(isFunction, 'must be a function').optional(),
  logger: z
    .custom<Logger>(
      (value) => typeof value === 'object' && value !== null && isFunction((value as Logger).warn),
      'must be a logger',
    )
    .optional(),
};

/**
 * Validates `migrate` and `migrationStatus` options (a `ValidationError` before any SQL).
 *
 * @example
 * ```ts
 * import { MigrateOptionsSchema } from 'carebase/migration';
 * // A deploy tool checks its settings before connecting anywhere.
 * const parsed = MigrateOptionsSchema.safeParse({ to: process.env.MIGRATE_TO, lockTimeoutMs: 30_000 });
 * if (!parsed.success)
 *   throw new Error(`bad migrate settings: ${parsed.error.issues.map((i) => i.path.join('.'))}`);
 * ```
 */
export const MigrateOptionsSchema = z
  .strictObject({
    ...common,
    sources: z.array(SourceSchema).optional(),
    includeLibrary: z.boolean().optional(),
    to: z.string().min(1).optional(),
    dryRun: z.boolean().optional(),
  })
  .superRefine((options, context) => {
    if (options.includeLibrary === false && (options.sources ?? []).length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['sources'],
        message: 'with includeLibrary: false, give at least one source',
      });
    }
    const seen = new Set<string>();
    for (const [index, source] of (options.sources ?? []).entries()) {
      if (seen.has(source.namespace)) {
        context.addIssue({ code: 'custom', path: ['sources', index], message: 'duplicate namespace' });
      }
      seen.add(source.namespace);
    }
  });

/**
 * Validates `rollback` options (a `ValidationError` before any SQL).
 *
 * @example
 * ```ts
 * import { RollbackOptionsSchema } from 'carebase/migration';
 * // A `rollback [steps]` script rejects a bad argument before any SQL runs.
 * const parsed = RollbackOptionsSchema.safeParse({ steps: Number(process.argv[2] ?? '1') });
 * if (!parsed.success) {
 *   console.error('usage: rollback [steps], steps a positive integer');
 *   process.exit(2);
 * }
 * ```
 */
export const RollbackOptionsSchema = z
  .strictObject({
    ...common,
    source: SourceSchema.optional(),
    allowLibraryRollback: z.boolean().optional(),
    allowDataLoss: z.boolean().optional(),
    steps: z.number().int().min(1).optional(),
    to: z.string().min(1).optional(),
    dryRun: z.boolean().optional(),
  })
  .refine((options) => options.steps === undefined || options.to === undefined, {
    message: 'give steps or to, not both',
    path: ['to'],
  });
