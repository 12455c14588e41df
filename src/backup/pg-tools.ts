import { join } from 'node:path';
import { z } from 'zod';
import { BackupError } from '../errors/errors.js';
import { findInstalls, installSearchDirs, isExecutable } from '../postgres-install/locate.js';
import { toolVersion } from '../postgres-install/tool-version.js';
import { parseInput } from '../validation/parse-input.js';

/**
 * A matching pair of PostgreSQL client tools found on this machine.
 *
 * @example
 * ```ts
 * import { findPgTools, type PgTools } from 'carebase/backup';
 * const tools: PgTools = await findPgTools({ minMajor: 15 });
 * console.log(`using pg_dump ${tools.version} from ${tools.dir}`);
 * ```
 */
export interface PgTools {
  /** Absolute path of `pg_dump`. */
  readonly pgDump: string;
  /** Absolute path of `pg_restore`. */
  readonly pgRestore: string;
  /** The directory both were found in. */
  readonly dir: string;
  /** Their version as printed, e.g. `15.20`. */
  readonly version: string;
  /** Their major version, e.g. `15`. */
  readonly major: number;
}

/**
 * Validates {@link findPgTools}' options.
 *
 * @example
 * ```ts
 * import { FindPgToolsOptionsSchema, findPgTools } from 'carebase/backup';
 * // Settings from the environment, checked before searching.
 * const parsed = FindPgToolsOptionsSchema.safeParse({
 *   binDir: process.env.PG_BIN_DIR,
 *   minMajor: Number(process.env.PG_MAJOR ?? 0),
 * });
 * if (!parsed.success) throw new Error('PG_BIN_DIR or PG_MAJOR is invalid');
 * const tools = await findPgTools(parsed.data);
 * ```
 */
export const FindPgToolsOptionsSchema = z.strictObject({
  minMajor: z.number().int().nonnegative().optional(),
  binDir: z.string().min(1).optional(),
});

/**
 * Options of {@link findPgTools}.
 *
 * @example
 * ```ts
 * import { type FindPgToolsOptions, findPgTools } from 'carebase/backup';
 * // A startup check: fail fast when the backup tools are older than the server (major 16 here).
 * const options: FindPgToolsOptions = { minMajor: 16, binDir: '/usr/lib/postgresql/16/bin' };
 * await findPgTools(options); // throws BackupError naming what was found
 * ```
 */
export interface FindPgToolsOptions {
  /** The server's major version: tools older than it are refused. @default 0 (any) */
  readonly minMajor?: number | undefined;
  /**
   * Look only in this directory. @default the `PG_BIN_DIR` environment variable; when neither is
   * set, PATH, `/usr/lib/postgresql/<N>/bin`, `/usr/pgsql-<N>/bin` and the Homebrew prefixes.
   */
  readonly binDir?: string | undefined;
}

interface Found {
  readonly dir: string;
  readonly version: string;
  readonly major: number;
  readonly restoreVersion: string | undefined;
}

async function inspectDir(dir: string): Promise<Found | undefined> {
  const dump = await toolVersion(join(dir, 'pg_dump'));
  if (dump === undefined) return undefined;
  const pgRestore = join(dir, 'pg_restore');
  const restore = isExecutable(pgRestore) ? await toolVersion(pgRestore) : undefined;
  return { dir, version: dump.version, major: dump.major, restoreVersion: restore?.version };
}

function installHint(major: number): string {
  const wanted = Math.max(14, Math.ceil(major));
  return (
    `install the PostgreSQL ${wanted} client tools: on Debian/Ubuntu \`apt-get install postgresql-client-${wanted}\` ` +
    `(from the PGDG repository if your release lacks it), on macOS \`brew install libpq\` ` +
    `(or \`brew install postgresql@${wanted}\`); or point PG_BIN_DIR at a directory holding pg_dump and pg_restore ${wanted}+`
  );
}

/**
 * Finds `pg_dump` and `pg_restore` (same directory, same version) at least as new as `minMajor`,
 * picking the newest suitable pair. With `binDir` or `PG_BIN_DIR`, looks only there.
 *
 * Throws `ValidationError` for bad options; {@link BackupError} naming the versions found, the version needed and how to install it,
 * when no suitable pair exists. Safe to call concurrently; it only reads the file system.
 *
 * @example
 * ```ts
 * import { findPgTools } from 'carebase/backup';
 * const tools = await findPgTools({ minMajor: 15 });
 * console.log(tools.pgDump, tools.version);
 * ```
 */
export async function findPgTools(options: FindPgToolsOptions = {}): Promise<PgTools> {
  const parsed = parseInput(FindPgToolsOptionsSchema, options, 'tool options');
  const minMajor = parsed.minMajor ?? 0;
  const search = installSearchDirs(parsed.binDir);
  const { found: homes } = findInstalls(['pg_dump'], search.dirs);
  const found = (await Promise.all(homes.map(inspectDir))).filter((entry) => entry !== undefined);
  const suitable = found
    .filter((entry) => entry.major >= minMajor && entry.restoreVersion === entry.version)
    .sort((a, b) => b.major - a.major);
  const best = suitable[0];
  if (best !== undefined) {
    return {
      pgDump: join(best.dir, 'pg_dump'),
      pgRestore: join(best.dir, 'pg_restore'),
      dir: best.dir,
      version: best.version,
      major: best.major,
    };
  }
  const where = search.only === undefined ? '' : ` in ${search.only} (PG_BIN_DIR)`;
  const seen =
    found.length === 0
      ? `no pg_dump was found${where}`
      : `found ${found
          .map(
            (entry) =>
              `pg_dump ${entry.version}${entry.restoreVersion === entry.version ? '' : ` (pg_restore ${entry.restoreVersion ?? 'missing'})`} in ${entry.dir}`,
          )
          .join(', ')}`;
  const needed =
    minMajor > 0
      ? `pg_dump and pg_restore ${minMajor} or newer are needed (the server's major version)`
      : 'pg_dump and pg_restore are needed';
  throw new BackupError(`${seen}; ${needed}: ${installHint(minMajor)}`);
}
