/**
 * One migration, parsed: its SQL, an optional down section, and how it runs.
 *
 * @example
 * ```ts
 * import { fileMigrations, type MigrationDefinition } from 'carebase/migration';
 * const definitions: readonly MigrationDefinition[] = await fileMigrations('./migrations', {
 *   namespace: 'app',
 * }).load();
 * for (const d of definitions) {
 *   console.log(d.name, d.checksum.slice(0, 12), d.down === undefined ? 'irreversible' : 'reversible');
 * }
 * ```
 */
export interface MigrationDefinition {
  /** Unique within its source; orders the source's migrations (lexicographically). */
  readonly name: string;
  /** SQL applied by `migrate`. May hold several statements. */
  readonly up: string;
  /** SQL applied by `rollback`, when the migration has a down section. */
  readonly down: string | undefined;
  /**
   * Whether the migration runs inside its own transaction (the default). A first line
   * `-- carebase:no-transaction` opts out, for `CREATE INDEX CONCURRENTLY` or
   * `ALTER TYPE ... ADD VALUE`.
   */
  readonly transaction: boolean;
  /** Hex SHA-256 of the normalized file text; see `CHECKSUM_ALGORITHM`. */
  readonly checksum: string;
  /**
   * For a host code migration (`.js`/`.mjs`/`.ts`/`.mts` in `fileMigrations`): the functions to run
   * instead of `up`/`down` SQL. They receive the lock-holding connection, inside the migration's
   * transaction unless the module exports `transaction = false`.
   */
  readonly code?: MigrationCode;
}

/**
 * The connection a code migration's `up(db)` / `down(db)` receives: the runner's own, inside the
 * migration's transaction. Parameterized queries only; results as plain rows.
 *
 * @example
 * ```ts
 * import type { MigrationDb } from 'carebase/migration';
 * // migrations/0009_split_names.ts: runs on the migration's connection, inside its transaction.
 * export async function up(db: MigrationDb): Promise<void> {
 *   const { rows } = await db.query<{ id: string; name: string }>('select id, name from app.patients');
 *   for (const row of rows) {
 *     const [first = '', ...rest] = row.name.split(' ');
 *     await db.query('update app.patients set first_name = $1, last_name = $2 where id = $3', [
 *       first,
 *       rest.join(' '),
 *       row.id,
 *     ]);
 *   }
 * }
 * ```
 */
export interface MigrationDb {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The exports of a code migration module.
 *
 * @example
 * ```ts
 * import type { MigrationCode } from 'carebase/migration';
 * // migrations/0008_ward_codes.ts: a code migration module exports up and, optionally, down.
 * export const up: MigrationCode['up'] = async (db) => {
 *   await db.query("update app.wards set code = upper(left(name, 3)) where code is null");
 * };
 * export const down: MigrationCode['down'] = async (db) => {
 *   await db.query('update app.wards set code = null');
 * };
 * ```
 */
export interface MigrationCode {
  up(db: MigrationDb): Promise<void>;
  down?: ((db: MigrationDb) => Promise<void>) | undefined;
}

/**
 * A set of migrations with its own history in `schema_migrations` (its `namespace`) and its own
 * order. carebase's own is `carebaseMigrations`; a host app adds `fileMigrations(dir, ...)`.
 *
 * @example
 * ```ts
 * import { carebaseMigrations, type MigrationSource, parseMigration } from 'carebase/migration';
 * // Migrations embedded in the bundle instead of read from a folder at runtime.
 * const embedded: Record<string, string> = {
 *   '0001_wards':
 *     'create table wards (id int primary key, name text not null);\n-- carebase:down\ndrop table wards;',
 * };
 * const wards: MigrationSource = {
 *   namespace: 'wards',
 *   useCarebaseSchema: true, // unqualified names resolve in the carebase schema
 *   load: async () => Object.entries(embedded).map(([name, text]) => parseMigration(name, text)),
 * };
 * await cb.migrate({ sources: [carebaseMigrations, wards] });
 * ```
 */
export interface MigrationSource {
  /** Separates this source's history from every other source's. */
  readonly namespace: string;
  /** Loads the migrations, in any order (the runner sorts them by name). */
  load(): Promise<readonly MigrationDefinition[]>;
  /**
   * When true, migrations run with `search_path` set to the carebase schema, so their SQL uses
   * unqualified names. carebase's own source sets it; host sources default to the connection's
   * search path.
   * @default false
   */
  readonly useCarebaseSchema?: boolean;
  /**
   * What to do when an applied migration was edited or is missing from the source.
   * @default 'error'
   */
  readonly onDrift?: 'error' | 'warn';
}

/**
 * What happened to one migration during a run.
 *
 * @example
 * ```ts
 * import { MigrationError } from 'carebase';
 * import type { MigrationResult } from 'carebase/migration';
 * try {
 *   await cb.migrate();
 * } catch (error) {
 *   if (!(error instanceof MigrationError)) throw error;
 *   const failed = (error.results as readonly MigrationResult[]).find(
 *     (result) => result.status === 'failed',
 *   );
 *   console.error(`${failed?.name} failed: ${failed?.error?.code} (SQLSTATE ${failed?.error?.sqlState})`);
 * }
 * ```
 */
export interface MigrationResult {
  readonly namespace: string;
  readonly name: string;
  readonly direction: 'up' | 'down';
  readonly status: 'applied' | 'rolled-back' | 'failed' | 'skipped';
  readonly durationMs: number;
  /**
   * The error's code, message and SQLSTATE when `status` is `failed` (never SQL parameters).
   * `blockedBy` lists the sessions holding the locks a migration waited for in vain (55P03).
   */
  readonly error?: {
    readonly code: string;
    readonly message: string;
    readonly sqlState?: string;
    readonly blockedBy?: readonly { readonly pid: number; readonly applicationName: string }[];
  };
}

/**
 * Progress events reported through `onProgress`.
 *
 * @example
 * ```ts
 * import { migrate, type MigrationProgress } from 'carebase/migration';
 * const report = (p: MigrationProgress): void => {
 *   if (p.phase === 'start')
 *     process.stdout.write(`[${p.index + 1}/${p.total}] ${p.namespace}/${p.name} ${p.direction}... `);
 *   else console.log('done');
 * };
 * await migrate(connectionString, { onProgress: report });
 * ```
 */
export interface MigrationProgress {
  readonly namespace: string;
  readonly name: string;
  readonly direction: 'up' | 'down';
  readonly phase: 'start' | 'done';
  readonly index: number;
  readonly total: number;
}
