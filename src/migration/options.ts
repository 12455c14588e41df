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
   * The sources to run, in order. Their namespaces must differ.
   * @default [carebaseMigrations]
   */
  readonly sources?: readonly MigrationSource[];
  /**
   * The carebase schema: holds `schema_migrations` and is the `search_path` of sources with
   * `useCarebaseSchema`.
   * @default 'carebase' (env `CAREBASE_SCHEMA` through `configFromEnv`)
   */
  readonly schema?: string;
  /**
   * How long to wait for another runner's lock on a namespace before failing with a
   * `MigrationError` that says so. `0` means try once.
   * @default 60000
   */
  readonly lockTimeoutMs?: number;
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
export type RollbackOptions = Omit<MigrationRunOptions, 'sources'> & {
  /** The source to roll back. @default carebaseMigrations */
  readonly source?: MigrationSource;
  /** Return the plan without executing anything. */
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

const common = {
  schema: SchemaNameSchema.optional(),
  lockTimeoutMs: z.number().int().min(0).max(2_147_483_647).optional(),
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
    sources: z.array(SourceSchema).min(1).optional(),
    to: z.string().min(1).optional(),
    dryRun: z.boolean().optional(),
  })
  .superRefine((options, context) => {
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
    steps: z.number().int().min(1).optional(),
    to: z.string().min(1).optional(),
    dryRun: z.boolean().optional(),
  })
  .refine((options) => options.steps === undefined || options.to === undefined, {
    message: 'give steps or to, not both',
    path: ['to'],
  });
