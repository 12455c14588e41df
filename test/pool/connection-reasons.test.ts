import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { type CarebaseOptions, type ConnectionError, createCarebase, isCarebaseError } from 'carebase';
import { startPostgres, type TestPostgres } from 'carebase/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Why a connection failed, as ConnectionError.reason: one private throwaway cluster with its own
// pg_hba.conf (a password-protected role) and few connection slots, plus loopback listeners that
// refuse or never answer. Passwords never appear in what carebase reports.
const PASSWORD = 'Right-Horse-Battery-9';
const WRONG = 'Wrong-Horse-Battery-7';
let dir: string;
let server: TestPostgres;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carebase-reasons-'));
  chmodSync(dir, 0o755);
  const hba = join(dir, 'pg_hba.conf');
  writeFileSync(
    hba,
    [
      'local all all trust',
      'host all secured 127.0.0.1/32 scram-sha-256',
      'host all all 127.0.0.1/32 trust',
      '',
    ].join('\n'),
  );
  chmodSync(hba, 0o644);
  server = await startPostgres({
    provider: 'local',
    local: { settings: { hba_file: hba, max_connections: 6, superuser_reserved_connections: 3 } },
  });
  port = Number(new URL(server.url).port);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`create role secured login password '${PASSWORD}'`);
  await admin.query('create role plain login');
  await admin.end();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The error of a first query through a fresh instance with `options` (never a success). */
async function failure(options: CarebaseOptions): Promise<ConnectionError> {
  await using cb = createCarebase({ database: 'postgres', ...options });
  const error = await sql`select 1`.execute(cb.db).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isCarebaseError(error, 'CONNECTION_FAILED'), String(error)).toBe(true);
  return error as ConnectionError;
}

function listen(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const listener = createServer(onSocket);
  return new Promise((resolve) =>
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      resolve({ server: listener, port: typeof address === 'object' && address !== null ? address.port : 0 });
    }),
  );
}

describe('ConnectionError.reason', () => {
  it('unreachable: nothing listens on the port', async () => {
    const { server: closed, port: freed } = await listen(() => {});
    await new Promise((resolve) => closed.close(resolve));
    expect((await failure({ host: '127.0.0.1', port: freed })).reason).toBe('unreachable');
  });

  it('timeout: the server accepts the socket and never answers', async () => {
    const sockets: Socket[] = [];
    const { server: silent, port: silentPort } = await listen((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    try {
      const error = await failure({
        host: '127.0.0.1',
        port: silentPort,
        pool: { connectionTimeoutMs: 300 },
      });
      expect(error.reason).toBe('timeout');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('server_without_tls: TLS required, and the server offers none', async () => {
    expect((await failure({ host: '127.0.0.1', port, ssl: 'require' })).reason).toBe('server_without_tls');
  });

  it('database_missing', async () => {
    expect((await failure({ host: '127.0.0.1', port, database: 'no_such_database' })).reason).toBe(
      'database_missing',
    );
  });

  it('auth_failed: a wrong password, or none, and neither appears anywhere in the error', async () => {
    const wrong = await failure({ host: '127.0.0.1', port, user: 'secured', password: WRONG });
    expect(wrong.reason).toBe('auth_failed');
    const missing = await failure({ host: '127.0.0.1', port, user: 'secured' });
    expect(missing.reason).toBe('auth_failed');
    for (const error of [wrong, missing]) {
      const printed = `${error.message}\n${error.stack}\n${inspect(error, { depth: 10 })}\n${JSON.stringify(error)}`;
      expect(printed).not.toContain(WRONG);
      expect(printed).not.toContain(PASSWORD);
    }
  });

  it('too_many_connections: no free slot on the server', async () => {
    const held: pg.Client[] = [];
    try {
      // 6 slots, 3 reserved for superusers: two ordinary connections fill the rest.
      for (let i = 0; i < 2; i++) {
        const client = new pg.Client({ host: '127.0.0.1', port, user: 'plain', database: 'postgres' });
        client.on('error', () => {});
        await client.connect();
        held.push(client);
      }
      expect((await failure({ host: '127.0.0.1', port, user: 'plain' })).reason).toBe('too_many_connections');
    } finally {
      for (const client of held) await client.end();
    }
  });
});
