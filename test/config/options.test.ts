import { inspect } from 'node:util';
import {
  configFromEnv,
  createCarebase,
  InvalidConfigurationError,
  isCarebaseError,
  poolConfigFrom,
  resolveConfig,
} from 'carebase';
import { describe, expect, it } from 'vitest';

const PASSWORD = 'Sup3r-Secret-Pa55';

function expectInvalid(fn: () => unknown, field: string): InvalidConfigurationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect(isCarebaseError(error, 'INVALID_CONFIGURATION')).toBe(true);
    const typed = error as InvalidConfigurationError;
    expect(typed.field).toBe(field);
    expect(typed.message).toContain(field);
    // Never a zod dump.
    expect(typed.message).not.toMatch(/"code":|ZodError|\[\s*\{/);
    return typed;
  }
  throw new Error(`expected InvalidConfigurationError for ${field}`);
}

describe('resolveConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const config = resolveConfig({});
    expect(config.pool).toEqual({
      min: 2,
      max: 20,
      connectionTimeoutMs: 5000,
      idleTimeoutMs: 10_000,
      maxLifetimeMs: 3_600_000,
      statementTimeoutMs: 30_000,
      applicationName: 'carebase',
    });
    expect(config.schema).toBe('carebase');
    expect(config.connection).toMatchObject({
      host: 'localhost',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    });
    expect(config.connection.ssl.mode).toBe('disable');
    expect(config.users.bcryptCost).toBe(12);
    expect(config.sessions.idleTimeoutMs).toBe(15 * 60_000);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.pool)).toBe(true);
    expect(Object.isFrozen(config.users.roles)).toBe(true);
    expect(() => {
      (config.pool as { max: number }).max = 1;
    }).toThrow(TypeError);
  });

  it('keeps 0 as a value (defaults use ??, not ||)', () => {
    const config = resolveConfig({ pool: { min: 0, statementTimeoutMs: 0, idleTimeoutMs: 0 } });
    expect(config.pool.min).toBe(0);
    expect(config.pool.statementTimeoutMs).toBe(0);
    expect(config.pool.idleTimeoutMs).toBe(0);
  });

  it('takes the parts of a connection string, explicit options winning', () => {
    const config = resolveConfig({
      connectionString: `postgres://alice:${PASSWORD}@db.internal:6543/clinic?sslmode=require`,
      database: 'override',
    });
    expect(config.connection).toMatchObject({
      host: 'db.internal',
      port: 6543,
      user: 'alice',
      database: 'override',
    });
    expect(config.connection.ssl.mode).toBe('require');
    expect(config.connection.password?.reveal()).toBe(PASSWORD);
    expect(config.connection.displayUrl).toBe('postgres://alice:***@db.internal:6543/override');
  });

  it('names the field of every invalid option', () => {
    expectInvalid(() => resolveConfig({ pool: { min: 10, max: 5 } }), 'pool.max');
    expectInvalid(() => resolveConfig({ port: 70_000 }), 'port');
    expectInvalid(() => resolveConfig({ ssl: 'sometimes' as never }), 'ssl');
    expectInvalid(
      () => resolveConfig({ connectionString: 'postgres://h/db?sslmode=bogus' }),
      'connectionString.sslmode',
    );
    expectInvalid(() => resolveConfig({ schema: 'Robert"); drop table' }), 'schema');
    expectInvalid(() => resolveConfig({ pool: { max: -1 } }), 'pool.max');
    expectInvalid(() => resolveConfig({ users: { bcryptCost: 8 } }), 'users.bcryptCost');
    expectInvalid(() => resolveConfig({ audit: { retentionMonths: 12 } }), 'audit.retentionMonths');
    expectInvalid(() => resolveConfig({ poool: { max: 1 } } as never), 'poool');
    expectInvalid(() => resolveConfig({ pool: { maxx: 1 } } as never), 'pool.maxx');
    expectInvalid(
      () => resolveConfig({ ssl: { mode: 'disable', ca: '-----BEGIN CERTIFICATE-----' } }),
      'ssl.ca',
    );
    // libpq's meaning: `require` with a root certificate checks the chain (verify-ca).
    expect(
      resolveConfig({ ssl: { mode: 'require', ca: '-----BEGIN CERTIFICATE-----' } }).connection.ssl.mode,
    ).toBe('verify-ca');
    expectInvalid(
      () => resolveConfig({ ssl: { mode: 'require', cert: '-----BEGIN CERTIFICATE-----' } }),
      'ssl.key',
    );
    expectInvalid(
      () =>
        resolveConfig({ connectionString: 'postgres://u@h/d?sslmode=verify-ca&sslrootcert=/no/such/ca.pem' }),
      'connectionString.sslrootcert',
    );
    expectInvalid(() => resolveConfig({ ssl: { mode: 'verify-full', ca: '/no/such/ca.pem' } }), 'ssl.ca');
  });

  it('accepts a short audit retention only when allowed', () => {
    expect(
      resolveConfig({ audit: { retentionMonths: 12, allowShortRetention: true } }).audit.retentionMonths,
    ).toBe(12);
  });
});

describe('configFromEnv', () => {
  it('reads DATABASE_URL and the DB_* variables', () => {
    const options = configFromEnv({
      DATABASE_URL: `postgres://bob:${PASSWORD}@db:5433/app`,
      DB_POOL_MIN: '1',
      DB_POOL_MAX: '7',
      DB_SSL: 'true',
      CAREBASE_SCHEMA: 'cb',
      BACKUP_DIR: '/var/backups/cb',
      DB_STATEMENT_TIMEOUT_MS: '0',
    });
    const config = resolveConfig(options);
    expect(config.connection).toMatchObject({ host: 'db', port: 5433, user: 'bob', database: 'app' });
    expect(config.pool).toMatchObject({ min: 1, max: 7, statementTimeoutMs: 0 });
    expect(config.connection.ssl.mode).toBe('require');
    expect(config.schema).toBe('cb');
    expect(config.backupDir).toBe('/var/backups/cb');
  });

  it('reads DB_POOLER and DIRECT_DATABASE_URL; the direct URL is never printed', () => {
    const config = resolveConfig(
      configFromEnv({
        DATABASE_URL: 'postgres://bob@pgbouncer:6432/app',
        DB_POOLER: 'transaction',
        DIRECT_DATABASE_URL: `postgres://bob:${PASSWORD}@db:5432/app`,
      }),
    );
    expect(config.pooler).toBe('transaction');
    expect(config.directUrl?.reveal()).toContain('@db:5432/app');
    expect(JSON.stringify(config)).not.toContain(PASSWORD);
    expect(inspect(config, { depth: 10 })).not.toContain(PASSWORD);
    expect(resolveConfig({}).pooler).toBe('none');
    // No statement_timeout startup parameter behind a transaction pooler (PgBouncer refuses it).
    expect(poolConfigFrom(config).statement_timeout).toBeUndefined();
    expect(poolConfigFrom(resolveConfig({})).statement_timeout).toBe(30_000);
    expect(() => configFromEnv({ DB_POOLER: 'session' })).toThrow(InvalidConfigurationError);
  });

  it('reads CAREBASE_RLS (true/false); rls is off by default and refuses other values', () => {
    expect(resolveConfig({}).rls).toBe(false);
    expect(resolveConfig(configFromEnv({ CAREBASE_RLS: 'true' })).rls).toBe(true);
    expect(resolveConfig(configFromEnv({ CAREBASE_RLS: 'false' })).rls).toBe(false);
    expect(configFromEnv({}).rls).toBeUndefined();
    expect(() => configFromEnv({ CAREBASE_RLS: 'maybe' })).toThrow(InvalidConfigurationError);
    expect(() => resolveConfig({ rls: 'yes' as never })).toThrow(InvalidConfigurationError);
  });

  it('reads DATABASE_REPLICA_URLS and the replica settings; replicas inherit what their URL leaves out', () => {
    const config = resolveConfig(
      configFromEnv({
        DATABASE_URL: `postgres://bob:${PASSWORD}@primary:5432/app?sslmode=require`,
        DATABASE_REPLICA_URLS:
          ' postgres://replica-1:5433 , postgres://carol:other@replica-2/reports?sslmode=disable,',
        DB_REPLICA_MAX_LAG_MS: '2000',
        DB_READ_YOUR_WRITES_TIMEOUT_MS: '50',
      }),
    );
    const [first, second] = config.replicas;
    expect(config.replicas).toHaveLength(2);
    expect(first).toMatchObject({ host: 'replica-1', port: 5433, user: 'bob', database: 'app' });
    expect(first?.password?.reveal()).toBe(PASSWORD);
    expect(first?.ssl.mode).toBe('require');
    expect(second).toMatchObject({ host: 'replica-2', port: 5432, user: 'carol', database: 'reports' });
    expect(second?.ssl.mode).toBe('disable');
    expect(config.replicaReads).toEqual({
      maxLagMs: 2000,
      readYourWritesTimeoutMs: 50,
      checkIntervalMs: 1000,
    });
    expect(resolveConfig({}).replicas).toEqual([]);
    expect(resolveConfig({}).replicaReads).toEqual({
      maxLagMs: 5000,
      readYourWritesTimeoutMs: 200,
      checkIntervalMs: 1000,
    });
    expect(JSON.stringify(config)).not.toContain(PASSWORD);
    expect(inspect(config, { depth: 10 })).not.toContain(PASSWORD);
    expect(first?.displayUrl).toBe('postgres://bob:***@replica-1:5433/app');
    expectInvalid(() => resolveConfig({ replicas: ['postgres://ok/db', 'not a url'] }), 'replicas.1');
    expectInvalid(
      () => resolveConfig({ replicaReads: { readYourWritesTimeoutMs: -1 } }),
      'replicaReads.readYourWritesTimeoutMs',
    );
    expectInvalid(() => configFromEnv({ DB_REPLICA_MAX_LAG_MS: 'soon' }), 'DB_REPLICA_MAX_LAG_MS');
  });

  it('reads DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD without a URL', () => {
    const config = resolveConfig(
      configFromEnv({ DB_HOST: 'h', DB_PORT: '5999', DB_NAME: 'n', DB_USER: 'u', DB_PASSWORD: PASSWORD }),
    );
    expect(config.connection).toMatchObject({ host: 'h', port: 5999, database: 'n', user: 'u' });
    expect(config.connection.password?.reveal()).toBe(PASSWORD);
  });

  it('names the variable that cannot be read', () => {
    expectInvalid(() => configFromEnv({ DB_POOL_MAX: 'twenty' }), 'DB_POOL_MAX');
    expectInvalid(() => configFromEnv({ DB_PORT: '54.32' }), 'DB_PORT');
    expectInvalid(() => configFromEnv({ DB_SSL: 'maybe' }), 'DB_SSL');
    expectInvalid(() => resolveConfig(configFromEnv({ DB_POOL_MIN: '9', DB_POOL_MAX: '3' })), 'pool.max');
  });
});

describe('the password', () => {
  const env = { DATABASE_URL: `postgres://carol:${PASSWORD}@db:5432/app`, DB_PASSWORD: PASSWORD };

  it('appears in no printed form of the options, the config, the pool or the instance', async () => {
    const options = configFromEnv(env);
    const config = resolveConfig(options);
    const cb = createCarebase(options);
    try {
      const printed = [
        JSON.stringify(options),
        inspect(options, { depth: 10, showHidden: true }),
        String(options.password),
        `${options.connectionString}`,
        JSON.stringify(config),
        inspect(config, { depth: 10, showHidden: true, getters: true }),
        inspect(cb, { depth: 4, showHidden: true }),
        inspect(cb.pool, { depth: 4 }),
        JSON.stringify(cb.config),
        config.connection.displayUrl,
      ];
      for (const text of printed) expect(text).not.toContain(PASSWORD);
    } finally {
      await cb.close();
    }
  });

  it('appears in no configuration error', () => {
    for (const bad of [
      { connectionString: `postgres://carol:${PASSWORD}@db:5432/app?sslmode=nope` },
      { connectionString: `postgres://carol:${PASSWORD}@db:99999/app` },
      { password: PASSWORD, port: 0 },
    ]) {
      const error = expectInvalid(
        () => resolveConfig(bad),
        bad.port === 0
          ? 'port'
          : bad.connectionString?.includes('nope')
            ? 'connectionString.sslmode'
            : 'connectionString',
      );
      expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(PASSWORD);
    }
  });
});
