import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { z } from 'zod';
import { CarebaseOptionsSchema } from '../config/options.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve.js';
import { BackupError, type CarebaseError, isCarebaseError } from '../errors/errors.js';
import { DriverErrorSummary, toCarebaseError } from '../errors/map-error.js';
import { carebaseClientClass } from '../pool/carebase-client.js';
import { poolConfigFrom } from '../pool/create-pool.js';

/**
 * Anything holding a resolved carebase configuration: a `Carebase` instance qualifies.
 *
 * @example
 * ```ts
 * import { type CarebaseLike, listBackups } from 'carebase/backup';
 * // Anything with a resolved config will do: the app's instance, or a test's.
 * const holder: CarebaseLike = cb;
 * const { items } = await listBackups({ carebase: holder });
 * ```
 */
export interface CarebaseLike {
  readonly config: ResolvedConfig;
}

/**
 * Where a backup function connects: either carebase options (`connectionString`, `host`, ...,
 * `backupDir`, `logger`) or `carebase`, an existing instance whose configuration is reused.
 *
 * @example
 * ```ts
 * import { type BackupConnectionOptions, createBackup, verifyBackup } from 'carebase/backup';
 * // A standalone backup job: its own connection, no carebase instance.
 * const connection: BackupConnectionOptions = {
 *   connectionString: process.env.DATABASE_URL,
 *   backupDir: '/var/backups/app',
 * };
 * const { path } = await createBackup(connection);
 * console.log((await verifyBackup(path, connection)).ok);
 * ```
 */
export interface BackupConnectionOptions {
  /** Reuse this instance's configuration (its connection settings, backup dir and logger). */
  readonly carebase?: CarebaseLike | undefined;
  readonly connectionString?: z.input<typeof CarebaseOptionsSchema>['connectionString'];
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly database?: string | undefined;
  readonly user?: string | undefined;
  readonly password?: z.input<typeof CarebaseOptionsSchema>['password'];
  readonly ssl?: z.input<typeof CarebaseOptionsSchema>['ssl'];
  readonly schema?: string | undefined;
  readonly backupDir?: string | undefined;
  readonly logger?: z.input<typeof CarebaseOptionsSchema>['logger'];
  /**
   * Pool options, accepted so that `configFromEnv()`'s output can be passed as it is: backups use a
   * dedicated connection, which takes only `connectionTimeoutMs` and `applicationName` from here.
   */
  readonly pool?: z.input<typeof CarebaseOptionsSchema>['pool'];
}

const CONNECTION_KEYS = [
  'connectionString',
  'host',
  'port',
  'database',
  'user',
  'password',
  'ssl',
  'schema',
  'backupDir',
  'logger',
  'pool',
] as const;

const carebaseLike = z.custom<CarebaseLike>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CarebaseLike).config === 'object' &&
    typeof (value as CarebaseLike).config?.connection === 'object',
  'must be a carebase instance (an object with a resolved config)',
);

/** The zod shape every backup option schema extends: the connection fields. */
export const BackupConnectionShape = {
  ...CarebaseOptionsSchema.pick({
    connectionString: true,
    host: true,
    port: true,
    database: true,
    user: true,
    password: true,
    ssl: true,
    schema: true,
    backupDir: true,
    logger: true,
    pool: true,
  }).shape,
  carebase: carebaseLike.optional(),
};

/** Resolves the configuration named by the connection fields of `input` (already validated). */
export function resolveBackupConfig(input: BackupConnectionOptions): ResolvedConfig {
  const given = CONNECTION_KEYS.filter((key) => input[key] !== undefined);
  if (input.carebase !== undefined) {
    if (given.some((key) => key !== 'backupDir' && key !== 'logger')) {
      throw new BackupError('pass either `carebase` or connection options, not both');
    }
    const config = input.carebase.config;
    if (config.pooler === 'transaction') {
      // pg_dump and the maintenance lock need a session: the server itself, not the pooler.
      if (config.directUrl === undefined) {
        throw new BackupError(
          "this instance runs behind a transaction pooler (pooler: 'transaction') and has no directUrl: " +
            'backups need a session on the server itself; set directUrl (its own sslmode applies)',
        );
      }
      return resolveConfig({
        connectionString: config.directUrl.reveal(),
        schema: config.schema,
        backupDir: config.backupDir,
        logger: config.logger,
      });
    }
    return config;
  }
  const options: Record<string, unknown> = {};
  for (const key of given) options[key] = input[key];
  return resolveConfig(options);
}

/** The backup directory: `dir`, else the options' or instance's `backupDir`, else `BACKUP_DIR`, else `./backups`. */
export function resolveBackupDir(
  dir: string | undefined,
  input: {
    readonly backupDir?: string | undefined;
    readonly carebase?: { readonly config: { readonly backupDir: string } } | undefined;
  },
): string {
  return dir ?? input.backupDir ?? input.carebase?.config.backupDir ?? process.env.BACKUP_DIR ?? './backups';
}

/** Opens a dedicated client (no statement timeout) to `database` (default: the configured one). */
export async function openClient(config: ResolvedConfig, database?: string): Promise<pg.Client> {
  const settings = poolConfigFrom(config);
  delete settings.statement_timeout;
  // Watched from construction: an 'error' listener for the client's whole life.
  const client = new (carebaseClientClass(config.logger))({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    database: database ?? config.connection.database,
    ssl: settings.ssl,
    application_name: `${config.pool.applicationName}-backup`,
    ...(settings.password === undefined ? {} : { password: settings.password }),
    connectionTimeoutMillis: config.pool.connectionTimeoutMs,
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw toCarebaseError(error);
  }
  return client;
}

/** Runs `work` on a fresh client and always closes it. Database errors become carebase errors. */
export async function withClient<T>(
  config: ResolvedConfig,
  database: string | undefined,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await openClient(config, database);
  try {
    return await work(client);
  } catch (error) {
    throw toBackupFailure(error, 'database operation failed');
  } finally {
    await client.end().catch(() => {});
  }
}

/** The environment of a pg_dump / pg_restore child, plus the cleanup of its temporary files. */
export interface ChildEnvironment {
  readonly env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

function escapePgpass(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll(':', '\\:');
}

/**
 * Builds the environment for a libpq tool connecting to `database`: the parent's environment
 * without any inherited `PG*` variable, then `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`,
 * `PGSSLMODE` and, when there is a password, `PGPASSFILE` pointing at a temporary file of mode
 * 0600 that {@link ChildEnvironment.cleanup} removes. The password never goes on a command line.
 */
export async function childEnvironment(
  config: ResolvedConfig,
  database: string,
  toolMajor: number,
): Promise<ChildEnvironment> {
  const { connection } = config;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG')) env[key] = value;
  }
  env.PGHOST = connection.host;
  env.PGPORT = String(connection.port);
  env.PGUSER = connection.user;
  env.PGDATABASE = database;
  env.PGAPPNAME = `${config.pool.applicationName}-backup`;
  env.PGCONNECT_TIMEOUT = String(Math.max(2, Math.ceil(config.pool.connectionTimeoutMs / 1000)));
  env.PGSSLMODE = connection.ssl.mode;
  const password = connection.password;
  const needsDir =
    password !== undefined || connection.ssl.ca !== undefined || connection.ssl.cert !== undefined;
  const dir = needsDir ? await mkdtemp(join(tmpdir(), 'carebase-pg-')) : undefined;
  try {
    if (dir !== undefined && password !== undefined) {
      const file = join(dir, 'pgpass');
      await writeFile(file, `*:*:*:*:${escapePgpass(password.reveal())}\n`, { mode: 0o600 });
      env.PGPASSFILE = file;
    }
    if (dir !== undefined && connection.ssl.ca !== undefined) {
      const file = join(dir, 'root.crt');
      await writeFile(file, connection.ssl.ca, { mode: 0o600 });
      env.PGSSLROOTCERT = file;
    } else if (
      (connection.ssl.mode === 'verify-full' || connection.ssl.mode === 'verify-ca') &&
      toolMajor >= 16
    ) {
      env.PGSSLROOTCERT = 'system';
    }
    if (dir !== undefined && connection.ssl.cert !== undefined && connection.ssl.key !== undefined) {
      // libpq wants the key private to its owner (0600), as carebase writes it.
      await writeFile(join(dir, 'client.crt'), connection.ssl.cert, { mode: 0o600 });
      await writeFile(join(dir, 'client.key'), connection.ssl.key.reveal(), { mode: 0o600 });
      env.PGSSLCERT = join(dir, 'client.crt');
      env.PGSSLKEY = join(dir, 'client.key');
    }
  } catch (error) {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    throw new BackupError('could not prepare the credentials file for pg_dump/pg_restore', { cause: error });
  }
  return {
    env,
    async cleanup() {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Maps a failure to a carebase error: file-system errors (they carry a `path`) become
 * {@link BackupError} naming the file; a permission failure of the database (SQLSTATE 42501)
 * becomes a `BackupError` (naming the table when the server did); other driver errors go through
 * the one SQLSTATE mapper, and carebase errors pass through.
 */
export function toBackupFailure(error: unknown, what: string): CarebaseError {
  if (typeof error === 'object' && error !== null && typeof (error as { path?: unknown }).path === 'string') {
    return fileFailure(error, (error as { path: string }).path, what);
  }
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { syscall?: unknown }).syscall === 'string'
  ) {
    // A system call failed on a descriptor (e.g. a write: ENOSPC carries no path).
    const { code } = error as { code?: unknown };
    return new BackupError(`${what}: file system error${typeof code === 'string' ? ` (${code})` : ''}`, {
      cause: error,
    });
  }
  const mapped = isCarebaseError(error) ? error : toCarebaseError(error);
  if (isCarebaseError(mapped, 'QUERY_FAILED') && mapped.sqlState === '42501') {
    const table = mapped.cause instanceof DriverErrorSummary ? mapped.cause.table : undefined;
    return new BackupError(
      `${what}: permission denied${table === undefined ? '' : ` on ${table}`} (SQLSTATE 42501)`,
      { cause: mapped.cause, ...(table === undefined ? {} : { table }) },
    );
  }
  return mapped;
}

/** A file-system failure on `file` as a {@link BackupError} naming it (and its errno code). */
export function fileFailure(error: unknown, file: string, what: string): BackupError {
  const code = (error as { code?: unknown } | null)?.code;
  return new BackupError(
    `${what}: file system error on ${file}${typeof code === 'string' ? ` (${code})` : ''}`,
    {
      cause: error,
      file,
    },
  );
}

/** Runs a file-system step on `file`; its failure becomes a {@link BackupError} naming the file. */
export async function onFile<T>(file: string, what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw isCarebaseError(error) ? error : fileFailure(error, file, what);
  }
}
