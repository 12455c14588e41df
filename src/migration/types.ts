/** One migration, parsed: its SQL, an optional down section, and how it runs. */
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
 */
export interface MigrationDb {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/** The exports of a code migration module. */
export interface MigrationCode {
  up(db: MigrationDb): Promise<void>;
  down?: ((db: MigrationDb) => Promise<void>) | undefined;
}

/**
 * A set of migrations with its own history in `schema_migrations` (its `namespace`) and its own
 * order. carebase's own is `carebaseMigrations`; a host app adds `fileMigrations(dir, ...)`.
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

/** What happened to one migration during a run. */
export interface MigrationResult {
  readonly namespace: string;
  readonly name: string;
  readonly direction: 'up' | 'down';
  readonly status: 'applied' | 'rolled-back' | 'failed' | 'skipped';
  readonly durationMs: number;
  /** The error's code, message and SQLSTATE when `status` is `failed` (never SQL parameters). */
  readonly error?: { readonly code: string; readonly message: string; readonly sqlState?: string };
}

/** Progress events reported through `onProgress`. */
export interface MigrationProgress {
  readonly namespace: string;
  readonly name: string;
  readonly direction: 'up' | 'down';
  readonly phase: 'start' | 'done';
  readonly index: number;
  readonly total: number;
}
