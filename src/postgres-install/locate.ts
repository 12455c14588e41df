import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/**
 * Where PostgreSQL programs are looked for: `PG_BIN_DIR` (or an explicit directory) alone when
 * set, else `PATH`, then the usual installation directories, newest major version first.
 */
export interface InstallSearchDirs {
  /** The directories, in order of preference, without duplicates. */
  readonly dirs: readonly string[];
  /** The one directory the search was limited to (`binDir` or `PG_BIN_DIR`), if any. */
  readonly only: string | undefined;
}

/** Directories `<parent>/<name>/<suffix>` whose name matches `pattern`, newest version first. */
function versioned(parent: string, pattern: RegExp, suffix: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return [];
  }
  return entries
    .map((entry) => ({ entry, version: Number(pattern.exec(entry)?.[1] ?? Number.NaN) }))
    .filter((item) => !Number.isNaN(item.version))
    .sort((a, b) => b.version - a.version)
    .map((item) => join(parent, item.entry, suffix));
}

/**
 * The directories to search for PostgreSQL programs. `binDir`, else `PG_BIN_DIR`, limits the
 * search to that one directory. Otherwise: `PATH`, `/usr/lib/postgresql/<N>/bin` (Debian,
 * Ubuntu), `/usr/pgsql-<N>/bin` (RHEL), then Homebrew's `opt/postgresql@<N>/bin`,
 * `opt/libpq@<N>/bin`, `opt/libpq/bin` and `bin` under `/opt/homebrew` and `/usr/local`.
 * Only reads directory listings; never throws.
 */
export function installSearchDirs(
  binDir?: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): InstallSearchDirs {
  const only = binDir ?? env.PG_BIN_DIR;
  if (only !== undefined && only !== '') return { dirs: [only], only };
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  dirs.push(...versioned('/usr/lib/postgresql', /^(\d+)$/, 'bin'));
  dirs.push(...versioned('/usr', /^pgsql-(\d+)$/, 'bin'));
  for (const brew of ['/opt/homebrew', '/usr/local']) {
    dirs.push(
      ...versioned(join(brew, 'opt'), /^postgresql@(\d+)$/, 'bin'),
      ...versioned(join(brew, 'opt'), /^libpq@(\d+)$/, 'bin'),
      join(brew, 'opt', 'libpq', 'bin'),
      join(brew, 'bin'),
    );
  }
  return { dirs: [...new Set(dirs)], only: undefined };
}

/** True when `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function holdsAll(dir: string, programs: readonly string[]): boolean {
  return programs.every((program) => isExecutable(join(dir, program)));
}

/**
 * The installation in `dir` that holds every one of `programs`: the directory the first
 * program's symlink resolves to (Homebrew links `/usr/local/bin/initdb` into its Cellar), else
 * `dir` itself (Debian's `/usr/bin/pg_dump` is a version-dispatching wrapper). `undefined` when
 * neither holds them all.
 */
export function installIn(dir: string, programs: readonly [string, ...string[]]): string | undefined {
  const first = join(dir, programs[0]);
  if (!isExecutable(first)) return undefined;
  let home: string | undefined;
  try {
    home = dirname(realpathSync(first));
  } catch {
    home = undefined;
  }
  if (home !== undefined && holdsAll(home, programs)) return home;
  return holdsAll(dir, programs) ? dir : undefined;
}

/**
 * Every installation among `dirs` holding all of `programs`, in the order of `dirs`, each
 * installation once (two directories linking into one installation count once).
 */
export function findInstalls(
  programs: readonly [string, ...string[]],
  dirs: readonly string[],
): { readonly found: readonly string[]; readonly tried: readonly string[] } {
  const found: string[] = [];
  for (const dir of dirs) {
    const home = installIn(dir, programs);
    if (home !== undefined && !found.includes(home)) found.push(home);
  }
  return { found, tried: [...dirs] };
}
