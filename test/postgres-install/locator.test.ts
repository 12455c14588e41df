/**
 * One PostgreSQL install locator serves carebase/backup (pg_dump, pg_restore) and
 * carebase/testing (initdb, postgres): the same directories, in the same order, with the same
 * PG_BIN_DIR and symlink rules. Fake installations are shell scripts that print a version.
 */
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCarebaseError } from 'carebase';
import { findPgTools } from 'carebase/backup';
import { defaultBinaryDirs, findPostgresBinaries } from 'carebase/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

let root: string;
const saved = { PATH: process.env.PATH, PG_BIN_DIR: process.env.PG_BIN_DIR };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'carebase-locator-'));
});

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const ALL = ['initdb', 'postgres', 'pg_dump', 'pg_restore'];

/** A directory of fake PostgreSQL programs that print `(PostgreSQL) <version>`. */
async function install(name: string, version: string, programs = ALL): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const program of programs) {
    const path = join(dir, program);
    await writeFile(path, `#!/bin/sh\necho "${program} (PostgreSQL) ${version}"\n`);
    await chmod(path, 0o755);
  }
  return dir;
}

describe('PG_BIN_DIR', () => {
  it('limits both the backup tools and the test server binaries to that one directory', async () => {
    const only = await install('only', '16.4');
    await install('elsewhere', '18.1');
    process.env.PG_BIN_DIR = only;
    process.env.PATH = `${join(root, 'elsewhere')}:${saved.PATH ?? ''}`;
    expect(defaultBinaryDirs()).toEqual([only]);
    expect(findPostgresBinaries().found?.dir).toBe(only);
    expect(await findPgTools()).toMatchObject({ dir: only, version: '16.4', major: 16 });
  });

  it('finds nothing for either when that directory holds nothing', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty, { recursive: true });
    process.env.PG_BIN_DIR = empty;
    expect(findPostgresBinaries()).toEqual({ found: undefined, tried: [empty] });
    const error = await findPgTools().catch((caught: unknown) => caught);
    expect(isCarebaseError(error, 'BACKUP_FAILED')).toBe(true);
    expect((error as Error).message).toContain(`no pg_dump was found in ${empty} (PG_BIN_DIR)`);
  });
});

describe('without PG_BIN_DIR', () => {
  it('searches PATH first, then the system installation directories', async () => {
    delete process.env.PG_BIN_DIR;
    const first = await install('path-first', '14.9');
    process.env.PATH = `${first}:/usr/bin`;
    const dirs = defaultBinaryDirs();
    expect(dirs.slice(0, 2)).toEqual([first, '/usr/bin']);
    const debian = dirs.filter((dir) => dir.startsWith('/usr/lib/postgresql/'));
    // Newest major version first.
    expect(debian).toEqual([...debian].sort((a, b) => Number(b.split('/')[4]) - Number(a.split('/')[4])));
    // A test server comes from the first installation on the search path...
    expect(findPostgresBinaries().found?.dir).toBe(first);
  });

  it('picks the newest pg_dump that is new enough for the server, wherever it is on the path', async () => {
    delete process.env.PG_BIN_DIR;
    const old = await install('path-old', '14.9');
    const newer = await install('path-new', '99.1');
    process.env.PATH = `${old}:${newer}`;
    expect(await findPgTools({ minMajor: 15 })).toMatchObject({ dir: newer, major: 99 });
  });
});

describe('symlinks', () => {
  it('follows a symlinked program into its installation (Homebrew links bin/ into the Cellar)', async () => {
    const cellar = await install('Cellar/postgresql@17/17.2/bin', '17.2');
    const bin = join(root, 'brew-bin');
    await mkdir(bin, { recursive: true });
    // Only some programs are linked into bin/; the rest live in the Cellar only.
    await symlink(join(cellar, 'initdb'), join(bin, 'initdb'));
    await symlink(join(cellar, 'pg_dump'), join(bin, 'pg_dump'));
    process.env.PG_BIN_DIR = bin;
    expect(findPostgresBinaries().found).toEqual({
      dir: cellar,
      initdb: join(cellar, 'initdb'),
      postgres: join(cellar, 'postgres'),
    });
    expect(await findPgTools()).toMatchObject({ dir: cellar, pgRestore: join(cellar, 'pg_restore') });
  });

  it('keeps the directory of a version-dispatching wrapper (Debian links /usr/bin/pg_dump to pg_wrapper)', async () => {
    const common = join(root, 'postgresql-common');
    await mkdir(common, { recursive: true });
    await writeFile(join(common, 'pg_wrapper'), '#!/bin/sh\necho "$(basename "$0") (PostgreSQL) 15.8"\n');
    await chmod(join(common, 'pg_wrapper'), 0o755);
    const bin = join(root, 'debian-bin');
    await mkdir(bin, { recursive: true });
    for (const tool of ['pg_dump', 'pg_restore']) await symlink(join(common, 'pg_wrapper'), join(bin, tool));
    process.env.PG_BIN_DIR = bin;
    expect(await findPgTools()).toMatchObject({ dir: bin, version: '15.8' });
  });
});
