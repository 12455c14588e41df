import type { ResolvedConfig } from '../config/resolve.js';
import { quoteIdentifier } from '../sql/identifier.js';
import { childEnvironment, withClient } from './connection.js';
import type { PgTools } from './pg-tools.js';
import { runTool } from './run-tool.js';

/** Options of {@link restoreInto}. */
export interface RestoreIntoOptions {
  readonly config: ResolvedConfig;
  readonly tools: PgTools;
  readonly archive: string;
  /** The database to create and restore into; must not exist. */
  readonly database: string;
  /** Database to connect to for CREATE / DROP DATABASE. */
  readonly maintenanceDatabase: string;
  readonly jobs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called for each archive item pg_restore starts (from its verbose output). */
  readonly onItem?: (() => void) | undefined;
}

/** Drops `database` (terminating its sessions), ignoring a missing one. */
export async function dropDatabase(
  config: ResolvedConfig,
  maintenance: string,
  database: string,
): Promise<void> {
  await withClient(config, maintenance, (client) =>
    client.query(`drop database if exists ${quoteIdentifier(database)} with (force)`),
  );
}

/**
 * Creates `database` from template0 and restores `archive` into it with
 * `pg_restore --no-owner --exit-on-error`. On any failure the new database is dropped again, so
 * nothing is left behind.
 */
export async function restoreInto(options: RestoreIntoOptions): Promise<void> {
  const { config, tools, database, maintenanceDatabase } = options;
  await withClient(config, maintenanceDatabase, (client) =>
    client.query(`create database ${quoteIdentifier(database)} template template0`),
  );
  const child = await childEnvironment(config, database, tools.major);
  try {
    const args = ['--no-owner', '--exit-on-error', '--no-password', `--dbname=${database}`];
    if (options.jobs !== undefined && options.jobs > 1) args.push(`--jobs=${options.jobs}`);
    if (options.onItem !== undefined) args.push('--verbose');
    args.push(options.archive);
    const password = config.connection.password?.reveal();
    const onItem = options.onItem;
    await runTool(tools.pgRestore, args, {
      env: child.env,
      signal: options.signal,
      redact: password === undefined ? [] : [password],
      ...(onItem === undefined
        ? {}
        : {
            onStderrLine: (line: string) => {
              if (/^pg_restore: (creating|processing|restoring)/.test(line)) onItem();
            },
          }),
    });
  } catch (error) {
    await dropDatabase(config, maintenanceDatabase, database).catch(() => {});
    throw error;
  } finally {
    await child.cleanup();
  }
}
