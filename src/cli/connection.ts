import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import pg from 'pg';
import { type Carebase, createCarebase } from '../carebase.js';
import { configFromEnv } from '../config/from-env.js';
import type { CarebaseOptions } from '../config/options.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve.js';
import { Secret } from '../config/secret.js';
import { toCarebaseError } from '../errors/map-error.js';
import { createPool, poolConfigFrom } from '../pool/create-pool.js';
import type { FlagSpec } from './flags.js';
import type { CliIo } from './io.js';
import { lookupPgpass } from './pgpass.js';
import { promptPassword } from './prompt-password.js';
import { UsageError } from './usage-error.js';

/** The connection flags every command accepts. None takes a password. */
export const CONNECTION_FLAGS: Readonly<Record<string, FlagSpec>> = {
  url: {
    type: 'string',
    value: 'URL',
    description:
      'postgres://user@host:port/db, WITHOUT a password (default: DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME/DB_USER)',
  },
  'env-file': {
    type: 'string',
    value: 'FILE',
    description:
      'read DATABASE_URL, DB_*, PGPASSWORD, CAREBASE_SCHEMA, BACKUP_DIR from FILE (.env format; wins over the environment)',
  },
  schema: {
    type: 'string',
    value: 'NAME',
    description: 'the carebase schema (default: CAREBASE_SCHEMA, or carebase)',
  },
};

/** The one-line hint of a database command run with no database configured. */
export const NO_DATABASE_HINT =
  'no database configured: set DATABASE_URL (or DB_HOST/DB_NAME/DB_USER), pass --url postgres://user@host/db, or --env-file FILE';

/** What a run says when the server asks for a password and none was given. */
export const NO_PASSWORD_HINT =
  'the server asks for a password and none was given: set PGPASSWORD, use ~/.pgpass (or PGPASSFILE), put it in DATABASE_URL or DB_PASSWORD in the environment or an --env-file, or run on a terminal to be asked';

/** Where the password of a run came from (never the password itself). */
export type PasswordSource = 'url' | 'DB_PASSWORD' | 'PGPASSWORD' | 'pgpass' | 'prompt' | 'none';

/** The database of one CLI run: its options (with the password), resolved config, and lazily opened pool. */
export interface CliDatabase {
  /** Connection options with the password in a `Secret`, the schema and backup dir. */
  readonly options: CarebaseOptions;
  readonly config: ResolvedConfig;
  readonly passwordSource: PasswordSource;
  /** A small pool (max 2), opened on first use. */
  pool(): pg.Pool;
  /** A carebase instance on its own small pool, opened on first use. */
  carebase(): Carebase;
  close(): Promise<void>;
}

/**
 * The environment of a run: the process's, overlaid with `--env-file` (Node's .env format, read
 * with `util.parseEnv`). Throws `UsageError` when the file cannot be read.
 */
export function runEnvironment(
  io: CliIo,
  values: Readonly<Record<string, string | boolean | undefined>>,
): Readonly<Record<string, string | undefined>> {
  const file = values['env-file'];
  if (typeof file !== 'string') return io.env;
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`--env-file ${file}: cannot read it (${code})`, false);
  }
  return { ...io.env, ...parseEnv(text) };
}

/**
 * Checks `--url` before anything connects: a postgres:// URL without a password (the process
 * list shows every argument). Throws `UsageError` (exit 2) with the way to give a password.
 */
export function checkUrlFlag(url: string | undefined): void {
  if (url === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('--url must be a postgres://user@host:port/database URL', false);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new UsageError('--url must be a postgres:// or postgresql:// URL', false);
  }
  if (parsed.password !== '' || parsed.searchParams.has('password')) {
    throw new UsageError(
      '--url must not contain a password (every user of this machine can read the command line): ' +
        'give the URL without it and put the password in PGPASSWORD, ~/.pgpass, DATABASE_URL in an --env-file, or type it at the prompt',
      false,
    );
  }
}

/** True when the environment or flags name a database (a pool size alone does not). */
export function hasDatabaseTarget(
  env: Readonly<Record<string, string | undefined>>,
  values: Readonly<Record<string, string | boolean | undefined>>,
): boolean {
  if (typeof values.url === 'string') return true;
  return ['DATABASE_URL', 'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER'].some(
    (name) => (env[name] ?? '').trim() !== '',
  );
}

/**
 * Opens the run's database: options from the environment (and `--env-file`), `--url` and
 * `--schema`; the password from the URL in the environment, `DB_PASSWORD`, `PGPASSWORD`, the
 * password file, or (only when the server asks and stdin is a terminal) a prompt. Throws
 * `UsageError` (exit 2, one line) when no database is configured, `InvalidConfigurationError`
 * naming a bad variable, `ConnectionError` when the probe for the prompt cannot connect.
 */
export async function openCliDatabase(
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
  values: Readonly<Record<string, string | boolean | undefined>>,
): Promise<CliDatabase> {
  if (!hasDatabaseTarget(env, values)) throw new UsageError(NO_DATABASE_HINT, false);
  const url = typeof values.url === 'string' ? values.url : undefined;
  checkUrlFlag(url);
  const fromEnv = configFromEnv(env);
  const base: CarebaseOptions =
    url === undefined
      ? fromEnv
      : {
          ...fromEnv,
          connectionString: url,
          host: undefined,
          port: undefined,
          database: undefined,
          user: undefined,
        };
  let options: CarebaseOptions = {
    ...base,
    ...(typeof values.schema === 'string' ? { schema: values.schema } : {}),
    pool: {
      ...fromEnv.pool,
      min: 0,
      max: 2,
      applicationName: fromEnv.pool?.applicationName ?? 'carebase-cli',
    },
  };
  let config = resolveConfig(options);
  let passwordSource: PasswordSource =
    config.connection.password === undefined
      ? 'none'
      : fromEnv.password === undefined
        ? 'url'
        : 'DB_PASSWORD';
  if (passwordSource === 'none') {
    const found =
      nonEmpty(env.PGPASSWORD) !== undefined
        ? { password: env.PGPASSWORD ?? '', source: 'PGPASSWORD' as const }
        : lookupInPgpass(io, env, config);
    if (found !== undefined) {
      options = { ...options, password: new Secret(found.password) };
      config = resolveConfig(options);
      passwordSource = found.source;
    } else {
      const typed = await probeForPassword(io, config);
      if (typed !== undefined) {
        options = { ...options, password: new Secret(typed) };
        config = resolveConfig(options);
        passwordSource = 'prompt';
      }
    }
  }
  let pool: pg.Pool | undefined;
  let cb: Carebase | undefined;
  return {
    options,
    config,
    passwordSource,
    pool() {
      pool ??= createPool(config);
      return pool;
    },
    carebase() {
      cb ??= createCarebase(options);
      return cb;
    },
    async close() {
      await Promise.all([pool?.end(), cb?.close()]);
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function lookupInPgpass(
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
  config: ResolvedConfig,
): { password: string; source: 'pgpass' } | undefined {
  const { host, port, database, user } = config.connection;
  const password = lookupPgpass(env, { host, port, database, user }, (reason) =>
    io.stderr.write(`carebase: ${reason}\n`),
  );
  return password === undefined ? undefined : { password, source: 'pgpass' };
}

/**
 * Connects once; if the server asks for a password, prompts for it when stdin is a terminal, or
 * fails with a `UsageError` (exit 2) saying where a password can come from. Returns the typed
 * password, or undefined when none was asked for (trust or peer authentication).
 */
async function probeForPassword(io: CliIo, config: ResolvedConfig): Promise<string | undefined> {
  let typed: string | undefined;
  let refused = false;
  const settings = poolConfigFrom(config);
  const client = new pg.Client({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    ssl: settings.ssl,
    application_name: settings.application_name,
    connectionTimeoutMillis: config.pool.connectionTimeoutMs,
    password: async () => {
      if (io.stdin?.isTTY !== true) {
        refused = true;
        throw new Error('no password');
      }
      typed ??= await promptPassword(
        io,
        `Password for ${config.connection.user}@${config.connection.host}: `,
      );
      return typed;
    },
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    if (refused) throw new UsageError(NO_PASSWORD_HINT, false);
    throw toCarebaseError(error);
  } finally {
    // A connection abandoned mid-authentication is not closed by end(): close its socket.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    await client.end().catch(() => {});
  }
  return typed;
}
