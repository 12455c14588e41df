import { randomBytes } from 'node:crypto';
import { type Carebase, createCarebase } from '../carebase.js';
import type { CarebaseOptions } from '../config/options.js';
import { toCarebaseError } from '../errors/map-error.js';
import { withLibrary } from '../migration/sources.js';
import type { MigrationSource } from '../migration/types.js';
import { quoteIdentifier } from '../sql/identifier.js';
import { adminPool, databaseUrl, sqlState } from './admin.js';
import { createAppRole, dropAppRole } from './app-role.js';
import { cloneTemplate } from './clone-database.js';
import { type StartPostgresOptions, startPostgres, type TestPostgres } from './start-postgres.js';
import { ensureTemplate, forgetTemplates } from './template.js';

/**
 * Options of {@link createTestDatabase}.
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { fileMigrations } from 'carebase/migration';
 * import { type CreateTestDatabaseOptions, createTestDatabase } from 'carebase/testing';
 * const options: CreateTestDatabaseOptions = {
 *   sources: [fileMigrations('./migrations', { namespace: 'app' })],
 *   // Runs once, into the template; every clone starts with this admin.
 *   seed: async (cb) => {
 *     const password = randomBytes(18).toString('base64url');
 *     await cb.users.create({ username: 'admin', email: 'admin@example.org', password, role: 'admin' });
 *   },
 * };
 * await using database = await createTestDatabase(options);
 * ```
 */
export interface CreateTestDatabaseOptions {
  /**
   * A superuser URL of the server to create the database on.
   * @default process.env.CAREBASE_TEST_DATABASE_URL, else a server started once per process by
   * `startPostgres()`
   */
  readonly serverUrl?: string;
  /**
   * Host migration sources, applied after carebase's own (part of the template's hash), exactly
   * as `migrate()` runs them: listing `carebaseMigrations` here too changes nothing.
   */
  readonly sources?: readonly MigrationSource[];
  /** Apply carebase's own migrations first. @default true */
  readonly includeLibrary?: boolean;
  /** The carebase schema. @default 'carebase' */
  readonly schema?: string;
  /**
   * Clone the migrated template (the default), or create an empty database (`false`) for tests
   * of migrations themselves.
   * @default true
   */
  readonly migrate?: boolean;
  /**
   * Which role `url` and `db` connect as: `'owner'` (the server URL's user, which ran the
   * migrations), or `'app'`: a least-privilege role made for this database by `grantAppRole()`
   * (no DDL, no UPDATE/DELETE/TRUNCATE on audit tables), dropped with it, as production should run.
   * `ownerUrl` always connects as the owner. With `migrate: false` the role is always the owner.
   * @default process.env.CAREBASE_TEST_ROLE when it is `app` or `owner`, else `'owner'`
   */
  readonly role?: 'owner' | 'app';
  /** Fills the template once, after the migrations; every clone starts with its rows. */
  readonly seed?: (cb: Carebase) => Promise<void>;
  /**
   * Identifies the seed's content in the template's hash: change it to rebuild the template.
   * @default a hash of the seed function's source text
   */
  readonly seedKey?: string;
  /**
   * When `drop({ failed: true })` is called, keep the database and print its URL instead.
   * @default process.env.CAREBASE_KEEP_FAILED_DATABASES === '1'
   */
  readonly keepOnFailure?: boolean;
  /** Options of the `db` instance (the connection string and schema are set for you). */
  readonly carebase?: Omit<CarebaseOptions, 'connectionString' | 'schema'>;
  /**
   * How many copies of the template this process keeps ready in the background, so the next call
   * only renames one (a few milliseconds) instead of copying. Spares outlive the process on the
   * server (the next run claims them), so the default keeps them only on servers that
   * carebase/testing started and removes with everything on them.
   * @default 2 on a server started by startPostgres() (local or container), else 0
   */
  readonly spares?: number;
  /** How to start a server when neither `serverUrl` nor `CAREBASE_TEST_DATABASE_URL` is set. */
  readonly server?: StartPostgresOptions;
}

/**
 * A fresh database for one test (or one test file).
 *
 * @example
 * ```ts
 * import { randomBytes } from 'node:crypto';
 * import { createTestDatabase, type TestDatabase } from 'carebase/testing';
 * import { afterAll, beforeAll, expect, test } from 'vitest';
 * let database: TestDatabase;
 * beforeAll(async () => {
 *   database = await createTestDatabase();
 * });
 * afterAll(() => database.drop());
 * test('finds a created user by email, case-insensitively', async () => {
 *   const password = randomBytes(18).toString('base64url');
 *   await database.db.users.create({ username: 'ana', email: 'ana@example.org', password, role: 'nurse' });
 *   expect(await database.db.users.findByEmail('ANA@example.org')).toBeDefined();
 * });
 * ```
 */
export interface TestDatabase extends AsyncDisposable {
  /** The database's name (`carebase_test_...`). */
  readonly name: string;
  /** A URL to it as `role`, for code under test that takes a connection string. */
  readonly url: string;
  /** A URL to it as the owner (the role that ran the migrations), for setup and tampering. */
  readonly ownerUrl: string;
  /** The role `url` and `db` connect as. */
  readonly role: 'owner' | 'app';
  /** A carebase instance on it (pool created lazily; closed by `drop()`). */
  readonly db: Carebase;
  /** The template it was cloned from; `undefined` with `migrate: false`. */
  readonly template: string | undefined;
  /**
   * Closes `db` and drops the database (terminating other connections to it). Idempotent. With
   * `failed: true` and `keepOnFailure`, keeps it and prints its URL instead.
   */
  drop(options?: { readonly failed?: boolean }): Promise<void>;
}

let processServer: Promise<TestPostgres> | undefined;

/** The role of test databases when the caller does not say: `CAREBASE_TEST_ROLE`, else the owner. */
function defaultRole(): 'owner' | 'app' {
  return process.env.CAREBASE_TEST_ROLE === 'app' ? 'app' : 'owner';
}

/** The server of this process when no URL is configured: started once, stopped at exit. */
function defaultServer(options: StartPostgresOptions | undefined): Promise<string> {
  processServer ??= startPostgres(options).then((server) => {
    if (server.provider !== 'url') {
      process.stderr.write(
        `carebase/testing: started a ${server.provider} PostgreSQL for this process only; ` +
          'share one per run with setupPostgres() in vitest globalSetup\n',
      );
    }
    return server;
  });
  processServer.catch(() => {
    processServer = undefined;
  });
  return processServer.then((server) => server.url);
}

/**
 * Creates a fresh database with every migration applied, in tens of milliseconds: a
 * `CREATE DATABASE ... TEMPLATE` clone of a template built once per migration set (carebase's
 * migrations plus `sources`, the schema and the seed). The template is reused across runs while
 * that set is unchanged and rebuilt when it changes.
 *
 * Throws `ConnectionError` when no server can be reached or started, `MigrationError` when a
 * migration fails while building the template, and any error the `seed` throws.
 *
 * Concurrency: any number of calls, in any number of workers and processes, may run at once;
 * each gets its own database, and the template is built exactly once.
 *
 * @example
 * ```ts
 * import { createTestDatabase } from 'carebase/testing';
 * await using database = await createTestDatabase();
 * await database.db.health(); // { ok: true, pendingMigrations: 0, ... }
 * ```
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl =
    options.serverUrl ?? process.env.CAREBASE_TEST_DATABASE_URL ?? (await defaultServer(options.server));
  const schema = options.schema ?? 'carebase';
  const name = `carebase_test_${randomBytes(6).toString('hex')}`;
  let template: string | undefined;
  try {
    if (options.migrate === false) {
      await adminPool(serverUrl).query(`create database ${quoteIdentifier(name)}`);
    } else {
      const spec = {
        schema,
        sources: withLibrary(options.sources, options.includeLibrary),
        seed: options.seed,
        seedKey: options.seedKey,
      };
      // 3D000: the template was dropped behind this process's back (another checkout with other
      // migrations superseded it on a shared server); build it again, a few times at most.
      for (let attempt = 1; ; attempt++) {
        template = (await ensureTemplate(serverUrl, spec)).name;
        try {
          await cloneTemplate(serverUrl, template, name, options.spares);
          break;
        } catch (error) {
          if (sqlState(error) !== '3D000' || attempt >= 5) throw error;
          forgetTemplates();
        }
      }
    }
  } catch (error) {
    throw sqlState(error) === undefined ? error : toCarebaseError(error);
  }
  const ownerUrl = databaseUrl(serverUrl, name);
  const role = options.migrate === false ? 'owner' : (options.role ?? defaultRole());
  let url = ownerUrl;
  let appRole: string | undefined;
  if (role === 'app') {
    try {
      const made = await createAppRole(serverUrl, ownerUrl, name, schema);
      appRole = made.role;
      url = made.url;
    } catch (error) {
      await adminPool(serverUrl)
        .query(`drop database if exists ${quoteIdentifier(name)} with (force)`)
        .catch(() => {});
      throw error;
    }
  }
  const db = createCarebase({
    ...options.carebase,
    pool: { min: 0, max: 5, ...options.carebase?.pool },
    connectionString: url,
    schema,
    migrations: options.carebase?.migrations ?? {
      sources: options.sources ?? [],
      includeLibrary: options.includeLibrary ?? true,
    },
  });
  const keepOnFailure = options.keepOnFailure ?? process.env.CAREBASE_KEEP_FAILED_DATABASES === '1';
  let dropping: Promise<void> | undefined;
  const drop = (dropOptions: { readonly failed?: boolean } = {}): Promise<void> => {
    dropping ??= (async () => {
      await db.close();
      if (dropOptions.failed === true && keepOnFailure) {
        process.stderr.write(`carebase/testing: kept the database of a failed test: ${url}\n`);
        return;
      }
      await adminPool(serverUrl).query(`drop database if exists ${quoteIdentifier(name)} with (force)`);
      if (appRole !== undefined) await dropAppRole(serverUrl, appRole);
    })();
    return dropping;
  };
  return { name, url, ownerUrl, role, db, template, drop, [Symbol.asyncDispose]: () => drop() };
}
