import type pg from 'pg';
import { configFromEnv } from '../config/from-env.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve.js';
import { createPool } from '../pool/create-pool.js';

/** A pool for one CLI run, with the resolved configuration it came from. */
export interface CliDatabase {
  readonly config: ResolvedConfig;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * Resolves the connection from the environment (`configFromEnv`: `DATABASE_URL`, `DB_*`,
 * `CAREBASE_SCHEMA`) overridden by `--url` and `--schema`, and opens a small pool. Throws
 * `InvalidConfigurationError` naming the variable or option; no message includes the password.
 *
 * @example
 * ```ts
 * const database = openDatabase(process.env, { url: 'postgres://localhost/app', schema: 'carebase' });
 * try {
 *   await database.cb.health();
 * } finally {
 *   await database.close();
 * }
 * ```
 */
export function openDatabase(
  env: Readonly<Record<string, string | undefined>>,
  flags: { readonly url?: string | undefined; readonly schema?: string | undefined },
): CliDatabase {
  const fromEnv = configFromEnv(env);
  const config = resolveConfig({
    ...fromEnv,
    ...(flags.url === undefined ? {} : { connectionString: flags.url }),
    ...(flags.schema === undefined ? {} : { schema: flags.schema }),
    pool: {
      ...fromEnv.pool,
      min: 0,
      max: 2,
      applicationName: fromEnv.pool?.applicationName ?? 'carebase-cli',
    },
  });
  const pool = createPool(config);
  return { config, pool, close: () => pool.end() };
}
