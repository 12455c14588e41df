import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionError, InvalidConfigurationError } from 'carebase';
import { dockerUnavailableReason, findPostgresBinaries, startPostgres } from 'carebase/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

const runUrl = process.env.CAREBASE_TEST_DATABASE_URL;
const saved = {
  test: process.env.CAREBASE_TEST_DATABASE_URL,
  app: process.env.DATABASE_URL,
  docker: process.env.DOCKER_HOST,
};

afterEach(() => {
  for (const [name, value] of [
    ['CAREBASE_TEST_DATABASE_URL', saved.test],
    ['DATABASE_URL', saved.app],
    ['DOCKER_HOST', saved.docker],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function scalar<T>(url: string, text: string): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ value: T }>(text);
    return rows[0]?.value as T;
  } finally {
    await client.end();
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/status`, 'utf8').includes('State:\tZ');
  } catch {
    return false;
  }
}

describe('the url provider', () => {
  it('uses CAREBASE_TEST_DATABASE_URL under auto, and stop() leaves the server alone', async () => {
    process.env.CAREBASE_TEST_DATABASE_URL = runUrl;
    const server = await startPostgres({ log: false });
    expect(server).toMatchObject({ provider: 'url', url: runUrl });
    await server.stop();
    expect(await scalar<number>(server.url, 'select 1 as value')).toBe(1);
  });

  it('ignores DATABASE_URL unless useDatabaseUrl is set', async () => {
    delete process.env.CAREBASE_TEST_DATABASE_URL;
    process.env.DATABASE_URL = 'postgres://app@db.invalid:5432/production';
    const server = await startPostgres({ provider: 'url', useDatabaseUrl: true, log: false });
    expect(server.url).toBe('postgres://app@db.invalid:5432/production');
    await expect(startPostgres({ provider: 'url' })).rejects.toBeInstanceOf(InvalidConfigurationError);
  });
});

const noLocalBinaries = findPostgresBinaries().found === undefined;
if (noLocalBinaries)
  console.warn('local provider test skipped: no PostgreSQL server binaries on this machine');

describe('the local provider', () => {
  it.skipIf(noLocalBinaries)(
    'starts a throwaway cluster as an unprivileged user with fast settings, and stop() removes it',
    async () => {
      const server = await startPostgres({ provider: 'local', log: false });
      expect(server.provider).toBe('local');
      const dataDir = await scalar<string>(server.url, "select current_setting('data_directory') as value");
      const pid = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
      const settings = await scalar<string>(
        server.url,
        "select string_agg(name || '=' || setting, ',' order by name) as value from pg_settings " +
          "where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'listen_addresses')",
      );
      expect(settings).toBe(
        'fsync=off,full_page_writes=off,listen_addresses=127.0.0.1,synchronous_commit=off',
      );
      const uid = /Uid:\t(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      expect(Number(uid)).not.toBe(0);
      expect(dataDir).toMatch(/carebase-pg-/);

      await server.stop();
      expect(processExists(pid)).toBe(false);
      expect(() => readFileSync(`${dataDir}/PG_VERSION`)).toThrow();
      expect(() => readFileSync(dataDir.replace(/\/data$/, ''))).toThrow();
    },
  );

  it('fails with one clear error naming what it tried and what to install when no binaries are found', async () => {
    const error = await startPostgres({ provider: 'local', local: { binDirs: [] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    const message = (error as Error).message;
    expect(message).toContain('local binaries: no initdb and postgres found');
    expect(message).toContain('apt-get install postgresql');
    expect(message).toContain('CAREBASE_TEST_DATABASE_URL');
    expect(message).not.toContain('container:');
  });
});

const dockerReason = await dockerUnavailableReason();
if (dockerReason !== undefined) console.warn(`container provider test skipped: ${dockerReason}`);

describe('the container provider', () => {
  it.skipIf(dockerReason !== undefined)(
    `starts PostgreSQL in a container${dockerReason === undefined ? '' : ` (skipped: ${dockerReason})`}`,
    async () => {
      await using server = await startPostgres({ provider: 'container' });
      expect(server.provider).toBe('container');
      expect(await scalar<number>(server.url, 'select 1 as value')).toBe(1);
    },
    120_000,
  );

  it.runIf(dockerReason !== undefined)('reports why when forced without a Docker engine', async () => {
    const error = await startPostgres({ provider: 'container' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain(`container: ${dockerReason}`);
  });
});

describe('the Docker engine check', () => {
  it('gives up on an engine socket that does not answer within the timeout', async () => {
    const path = join(tmpdir(), `carebase-silent-${process.pid}.sock`);
    const silent = createServer(() => {}).listen(path);
    try {
      process.env.DOCKER_HOST = `unix://${path}`;
      const started = Date.now();
      expect(await dockerUnavailableReason(300)).toBe('the Docker engine did not answer within 300 ms');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      silent.close();
    }
  });

  it('accepts an engine that answers /_ping, then needs @testcontainers/postgresql', async () => {
    const path = join(tmpdir(), `carebase-ping-${process.pid}.sock`);
    const engine = createHttpServer((req, res) => {
      res.writeHead(req.url === '/_ping' ? 200 : 404).end('OK');
    }).listen(path);
    try {
      process.env.DOCKER_HOST = `unix://${path}`;
      expect(await dockerUnavailableReason()).toBeUndefined();
      const error = await startPostgres({ provider: 'container' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(
        /container: (the optional package @testcontainers\/postgresql is not installed|the PostgreSQL container did not start)/,
      );
    } finally {
      engine.close();
    }
  });
});
