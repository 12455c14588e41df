import { InvalidConfigurationError } from '../errors/errors.js';
import type { CarebaseOptions } from './options.js';
import type { PoolerMode, PoolOptions, SslMode, SslOptions } from './pool-options.js';
import { Secret } from './secret.js';

/**
 * The environment variables `configFromEnv` reads.
 *
 * @example
 * ```ts
 * import { type CarebaseEnv, configFromEnv, createCarebase } from 'carebase';
 * // A second, read-only instance for reports, from its own variables.
 * const env: CarebaseEnv = { DATABASE_URL: process.env.REPORTING_DATABASE_URL, DB_POOL_MAX: '4' };
 * const reporting = createCarebase(configFromEnv(env));
 * ```
 */
export type CarebaseEnv = Readonly<Record<string, string | undefined>>;

function readInt(env: CarebaseEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw new InvalidConfigurationError(name, 'must be a whole number');
  return Number(raw);
}

function readString(env: CarebaseEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function readSecret(env: CarebaseEnv, name: string): Secret | undefined {
  const raw = readString(env, name);
  return raw === undefined ? undefined : new Secret(raw);
}

const SSL_ENV: Record<string, SslMode> = {
  '0': 'disable',
  false: 'disable',
  off: 'disable',
  disable: 'disable',
  '1': 'require',
  true: 'require',
  on: 'require',
  prefer: 'prefer',
  require: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

function readPooler(env: CarebaseEnv): PoolerMode | undefined {
  const raw = readString(env, 'DB_POOLER')?.trim().toLowerCase();
  if (raw === undefined) return undefined;
  if (raw !== 'none' && raw !== 'transaction') {
    throw new InvalidConfigurationError('DB_POOLER', "must be 'none' or 'transaction'");
  }
  return raw;
}

function readRls(env: CarebaseEnv): boolean | undefined {
  const raw = readString(env, 'CAREBASE_RLS')?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1' || raw === 'on') return true;
  if (raw === 'false' || raw === '0' || raw === 'off') return false;
  throw new InvalidConfigurationError('CAREBASE_RLS', 'must be true or false');
}

function readSsl(env: CarebaseEnv): SslOptions | undefined {
  const raw = readString(env, 'DB_SSL')?.trim().toLowerCase();
  const ca = readString(env, 'DB_SSL_CA');
  if (raw === undefined) return ca === undefined ? undefined : { mode: 'verify-full', ca };
  const mode = SSL_ENV[raw];
  if (mode === undefined) {
    throw new InvalidConfigurationError(
      'DB_SSL',
      'must be one of true, false, disable, prefer, require, verify-ca, verify-full',
    );
  }
  return ca === undefined ? mode : { mode, ca };
}

function readList(env: CarebaseEnv, name: string): Secret[] | undefined {
  const items = (readString(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length === 0 ? undefined : items.map((item) => new Secret(item));
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Builds {@link CarebaseOptions} from environment variables: `DATABASE_URL`, or `DB_HOST`,
 * `DB_PORT`, `DB_NAME`, `DB_USER`, `DB_PASSWORD`; plus `DB_SSL` (`true|false|disable|require|
 * verify-full`), `DB_SSL_CA` (PEM or path), `DB_POOL_MIN`, `DB_POOL_MAX`,
 * `DB_CONNECTION_TIMEOUT_MS`, `DB_POOLER` (`none|transaction`), `DIRECT_DATABASE_URL`, `DB_POOL_IDLE_TIMEOUT_MS`, `DB_POOL_MAX_LIFETIME_MS`,
 * `DB_STATEMENT_TIMEOUT_MS`, `DB_APPLICATION_NAME`, `DATABASE_REPLICA_URLS` (comma-separated),
 * `DB_REPLICA_MAX_LAG_MS`, `DB_READ_YOUR_WRITES_TIMEOUT_MS`, `CAREBASE_SCHEMA`, `BACKUP_DIR`,
 * `CAREBASE_PSEUDONYM_KEY` and `CAREBASE_RLS` (`true|false`).
 * When both are set, the `DB_*` parts override the matching parts of `DATABASE_URL`.
 * `DATABASE_URL` and `DB_PASSWORD` come back wrapped in a {@link Secret}, so printing the
 * returned object never shows the password.
 *
 * Throws {@link InvalidConfigurationError} naming the variable when a value cannot be read
 * (a non-numeric pool size, an unknown SSL mode); range checks happen in `createCarebase`.
 *
 * @example
 * ```ts
 * import { configFromEnv, createCarebase } from 'carebase';
 * const cb = createCarebase({ ...configFromEnv(), pool: { max: 5 } });
 * ```
 */
export function configFromEnv(env: CarebaseEnv = process.env): CarebaseOptions {
  const pool: PoolOptions = withoutUndefined({
    min: readInt(env, 'DB_POOL_MIN'),
    max: readInt(env, 'DB_POOL_MAX'),
    connectionTimeoutMs: readInt(env, 'DB_CONNECTION_TIMEOUT_MS'),
    idleTimeoutMs: readInt(env, 'DB_POOL_IDLE_TIMEOUT_MS'),
    maxLifetimeMs: readInt(env, 'DB_POOL_MAX_LIFETIME_MS'),
    statementTimeoutMs: readInt(env, 'DB_STATEMENT_TIMEOUT_MS'),
    applicationName: readString(env, 'DB_APPLICATION_NAME'),
  });
  const replicaReads = withoutUndefined({
    maxLagMs: readInt(env, 'DB_REPLICA_MAX_LAG_MS'),
    readYourWritesTimeoutMs: readInt(env, 'DB_READ_YOUR_WRITES_TIMEOUT_MS'),
  });
  return withoutUndefined({
    connectionString: readSecret(env, 'DATABASE_URL'),
    host: readString(env, 'DB_HOST'),
    port: readInt(env, 'DB_PORT'),
    database: readString(env, 'DB_NAME'),
    user: readString(env, 'DB_USER'),
    password: readSecret(env, 'DB_PASSWORD'),
    ssl: readSsl(env),
    pool: Object.keys(pool).length === 0 ? undefined : pool,
    pooler: readPooler(env),
    directUrl: readSecret(env, 'DIRECT_DATABASE_URL'),
    replicas: readList(env, 'DATABASE_REPLICA_URLS'),
    replicaReads: Object.keys(replicaReads).length === 0 ? undefined : replicaReads,
    schema: readString(env, 'CAREBASE_SCHEMA'),
    backupDir: readString(env, 'BACKUP_DIR'),
    pseudonyms: env.CAREBASE_PSEUDONYM_KEY ? { key: new Secret(env.CAREBASE_PSEUDONYM_KEY) } : undefined,
    rls: readRls(env),
  });
}
