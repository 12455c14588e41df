import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ConnectionError, createCarebase, type Logger, type SslOptions } from 'carebase';
import { startPostgres, type TestPostgres } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// SSL against a real TLS server: a throwaway cluster started with ssl=on and a certificate for
// `localhost` signed by a private CA made here with openssl (as managed databases do).
function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canRun = hasOpenssl();

let dir: string;
let server: TestPostgres | undefined;
let port: number;
let ca: string;

beforeAll(async () => {
  if (!canRun) return;
  dir = mkdtempSync(join(tmpdir(), 'carebase-ssl-'));
  chmodSync(dir, 0o755);
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=carebase test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  ]);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  ]);
  // The server runs as an unprivileged user when we are root; it must own its key (mode 0600).
  if (userInfo().uid === 0) {
    const owner = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const group = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    for (const file of ['server.key', 'server.crt']) chownSync(join(dir, file), Number(owner), Number(group));
  }
  chmodSync(join(dir, 'server.key'), 0o600);
  chmodSync(join(dir, 'server.crt'), 0o644);
  ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  // Database `tlsonly` refuses unencrypted connections, as a managed database does.
  writeFileSync(
    join(dir, 'pg_hba.conf'),
    [
      'local all all trust',
      'hostnossl tlsonly all 127.0.0.1/32 reject',
      'host all all 127.0.0.1/32 trust',
      'host all all ::1/128 trust',
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'pg_hba.conf'), 0o644);
  server = await startPostgres({
    provider: 'local',
    local: {
      settings: {
        ssl: 'on',
        ssl_cert_file: join(dir, 'server.crt'),
        ssl_key_file: join(dir, 'server.key'),
        hba_file: join(dir, 'pg_hba.conf'),
      },
    },
  });
  port = Number(new URL(server.url).port);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function sslInUse(
  host: string,
  ssl: SslOptions | undefined,
  database = 'postgres',
  extra: { connectionString?: string; port?: number; logger?: Logger } = {},
): Promise<boolean> {
  await using cb = createCarebase({
    host,
    port: extra.port ?? port,
    user: 'postgres',
    database,
    ...(ssl === undefined ? {} : { ssl }),
    ...(extra.connectionString === undefined ? {} : { connectionString: extra.connectionString }),
    ...(extra.logger === undefined ? {} : { logger: extra.logger }),
    pool: { connectionTimeoutMs: 5000 },
  });
  const { rows } = await sql<{
    ssl: boolean;
  }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(cb.db);
  return rows[0]?.ssl === true;
}

describe.skipIf(!canRun)('SSL modes against a TLS server (skipped when openssl is missing)', () => {
  it('disable connects in clear', async () => {
    expect(await sslInUse('localhost', 'disable')).toBe(false);
  });

  it('require encrypts without checking the certificate', async () => {
    expect(await sslInUse('127.0.0.1', 'require')).toBe(true);
  });

  it('verify-full with the CA checks the chain and the host name', async () => {
    expect(await sslInUse('localhost', { mode: 'verify-full', ca })).toBe(true);
  });

  it('verify-full refuses a certificate from an unknown CA (reason tls_unknown_ca)', async () => {
    const error = await sslInUse('localhost', 'verify-full').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('tls_unknown_ca');
  });

  it('verify-full refuses a host name the certificate does not name (reason tls_hostname_mismatch)', async () => {
    const error = await sslInUse('127.0.0.1', { mode: 'verify-full', ca }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('tls_hostname_mismatch');
  });

  it('verify-ca checks the chain but not the host name (libpq), and refuses an unknown CA', async () => {
    expect(await sslInUse('127.0.0.1', { mode: 'verify-ca', ca })).toBe(true);
    const error = await sslInUse('127.0.0.1', 'verify-ca').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('tls_unknown_ca');
    expect((error as ConnectionError).hint).toContain('ssl.ca');
  });

  it('honours sslrootcert in the URL (and sslmode=verify-ca there)', async () => {
    const url = (mode: string, host: string) =>
      `postgres://postgres@${host}:${port}/postgres?sslmode=${mode}&sslrootcert=${encodeURIComponent(join(dir, 'ca.crt'))}`;
    expect(
      await sslInUse('localhost', undefined, 'postgres', {
        connectionString: url('verify-full', 'localhost'),
      }),
    ).toBe(true);
    expect(
      await sslInUse('127.0.0.1', undefined, 'postgres', { connectionString: url('verify-ca', '127.0.0.1') }),
    ).toBe(true);
    const mismatch = await sslInUse('127.0.0.1', undefined, 'postgres', {
      connectionString: url('verify-full', '127.0.0.1'),
    }).catch((caught: unknown) => caught);
    expect((mismatch as ConnectionError).reason).toBe('tls_hostname_mismatch');
  });

  it('prefer encrypts when the server offers TLS (it used to connect in plain text)', async () => {
    expect(await sslInUse('127.0.0.1', 'prefer')).toBe(true);
    expect(
      await sslInUse('127.0.0.1', undefined, 'postgres', {
        connectionString: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=prefer`,
      }),
    ).toBe(true);
  });

  it('prefer falls back to plain text on a server without TLS, with a warning; require fails with server_without_tls', async () => {
    await using plain = await startPostgres({ provider: 'local', log: false });
    const plainPort = Number(new URL(plain.url).port);
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (_fields: unknown, message?: string) => {
        warnings.push(String(message));
      },
      error: () => {},
    };
    expect(await sslInUse('127.0.0.1', 'prefer', 'postgres', { port: plainPort, logger })).toBe(false);
    expect(warnings.some((warning) => warning.includes('sslmode=prefer'))).toBe(true);
    const error = await sslInUse('127.0.0.1', 'require', 'postgres', { port: plainPort }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('server_without_tls');
  }, 60_000);

  it('a server that refuses unencrypted connections says so (reason tls_required_by_server)', async () => {
    const error = await sslInUse('127.0.0.1', 'disable', 'tlsonly').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).reason).toBe('tls_required_by_server');
    expect(
      await sslInUse('127.0.0.1', 'require', 'tlsonly').catch((caught: unknown) => caught),
    ).toMatchObject({
      reason: 'database_missing', // past pg_hba.conf with TLS; the database itself does not exist
    });
  });
});
