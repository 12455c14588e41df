import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from 'carebase/migration';
import { startPostgres, type TestPostgres } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase, cli } from './bin.js';

// On a private throwaway cluster (roles and authentication settings are cluster-wide): a least-
// privilege app role that needs a password (scram), doctor's privilege check, and every way the
// CLI gets a password without it ever being on a command line.

const PASSWORD = 'AppRole-pw-7c1e';
let server: TestPostgres;
let dir: string;
let port: string;
let appUrl: string;

async function admin(text: string): Promise<void> {
  const url = new URL(server.url);
  url.pathname = '/app';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

let ownerDatabaseUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carebase-doctor-'));
  chmodSync(dir, 0o755);
  const hba = join(dir, 'pg_hba.conf');
  writeFileSync(
    hba,
    'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
  );
  chmodSync(hba, 0o644);
  server = await startPostgres({ provider: 'local', local: { settings: { hba_file: hba } } });
  port = new URL(server.url).port;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('create database app');
  await client.query(`create role cb_app login password '${PASSWORD}'`);
  await client.end();
  const ownerUrl = new URL(server.url);
  ownerUrl.pathname = '/app';
  ownerDatabaseUrl = ownerUrl.toString();
  await migrate(ownerDatabaseUrl);
  await admin('grant usage on schema carebase to cb_app; grant select on carebase.users to cb_app');
  appUrl = `postgres://cb_app@127.0.0.1:${port}/app`;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string>): Record<string, string> {
  return { ...baseEnv(), PGPASSFILE: join(dir, 'none'), ...extra };
}

interface DoctorJson {
  ok: boolean;
  checks: { id: string; status: string; details?: string[] }[];
}

describe.skipIf(!built)('doctor and passwords on a throwaway cluster', { timeout: 180_000 }, () => {
  it('doctor warns when the app role lacks grants, and exits 1', async () => {
    const run = await carebase(['doctor', '--json'], {
      env: env({ DATABASE_URL: appUrl, PGPASSWORD: PASSWORD }),
    });
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as DoctorJson;
    const roles = report.checks.find((check) => check.id === 'roles');
    expect(roles?.status).toBe('warn');
    expect(roles?.details).toContain('missing INSERT, UPDATE, DELETE on carebase.users');
    expect(roles?.details).toContain('missing SELECT, INSERT, UPDATE, DELETE on carebase.sessions');
    expect(roles?.details?.join('\n')).not.toContain('superuser');
    const text = await carebase(['doctor'], { env: env({ DATABASE_URL: appUrl, PGPASSWORD: PASSWORD }) });
    expect(text.stdout).toMatch(/warn\s+roles\s+connected as cb_app: \d+ problems/);
    // As the owner, checking the app role.
    const owner = await carebase(['doctor', '--json', '--app-role', 'cb_app'], {
      env: env({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/app` }),
    });
    const asOwner = JSON.parse(owner.stdout) as DoctorJson;
    expect(asOwner.checks.find((check) => check.id === 'roles')?.details).toContain(
      'missing INSERT, UPDATE, DELETE on carebase.users',
    );
  });

  it('doctor: the grants it asks for are the ones it then accepts; the audit log must stay append-only', async () => {
    // The documented way: exactly grantAppRole()'s privileges.
    const granted = await carebase(['roles', 'grant', '--app-role', 'cb_app'], {
      env: env({ DATABASE_URL: ownerDatabaseUrl }),
    });
    expect(granted.code, granted.stderr).toBe(0);
    const run = await carebase(['doctor', '--json'], {
      env: env({ DATABASE_URL: appUrl, PGPASSWORD: PASSWORD }),
    });
    const roles = (JSON.parse(run.stdout) as DoctorJson).checks.find((check) => check.id === 'roles');
    // Partitions and sealing run through the owner's SECURITY DEFINER functions: nothing to report.
    expect(roles?.status, JSON.stringify(roles)).toBe('ok');
    expect(roles?.details ?? []).toEqual([]);
    await admin('grant update on carebase.audit_log to cb_app');
    const loose = await carebase(['doctor', '--json'], {
      env: env({ DATABASE_URL: appUrl, PGPASSWORD: PASSWORD }),
    });
    expect(
      (JSON.parse(loose.stdout) as DoctorJson).checks.find((check) => check.id === 'roles')?.details,
    ).toContain('cb_app may UPDATE carebase.audit_log: the audit log must be append-only for the app');
    await admin('revoke update on carebase.audit_log from cb_app');
  });

  it('takes the password from PGPASSWORD, ~/.pgpass, --env-file; says how when there is none', async () => {
    const viaEnv = await carebase(['migrate', 'status'], {
      env: env({ DATABASE_URL: appUrl, PGPASSWORD: PASSWORD }),
    });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    const pgpass = join(dir, 'pgpass');
    writeFileSync(pgpass, `# comment\n127.0.0.1:${port}:app:cb_app:${PASSWORD}\n`, { mode: 0o600 });
    const viaFile = await carebase(['migrate', 'status', '--url', appUrl], {
      env: env({ PGPASSFILE: pgpass }),
    });
    expect(viaFile.code, viaFile.stderr).toBe(0);
    const dotenv = join(dir, 'prod.env');
    writeFileSync(
      dotenv,
      `# production\nDATABASE_URL="postgres://cb_app:${PASSWORD}@127.0.0.1:${port}/app"\n`,
      { mode: 0o600 },
    );
    const viaEnvFile = await carebase(['migrate', 'status', '--env-file', dotenv], { env: env({}) });
    expect(viaEnvFile.code, viaEnvFile.stderr).toBe(0);
    const none = await carebase(['migrate', 'status'], { env: env({ DATABASE_URL: appUrl }) });
    expect(none.code).toBe(2);
    expect(none.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain(
      'the server asks for a password and none was given: set PGPASSWORD, use ~/.pgpass',
    );
    for (const run of [viaEnv, viaFile, viaEnvFile, none])
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('prompts for the password on a terminal (no echo), only when the server asks', async () => {
    const run = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      // script(1) gives the CLI a pseudo-terminal as stdin, stdout and stderr.
      const child = spawn('script', ['-qec', `${process.execPath} ${cli} migrate status`, '/dev/null'], {
        env: env({ DATABASE_URL: appUrl }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      let typed = false;
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (!typed && output.includes('Password for cb_app@127.0.0.1: ')) {
          typed = true;
          child.stdin.write(`${PASSWORD}\r`);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(run.output).toContain('Password for cb_app@127.0.0.1: ');
    expect(run.output).toContain('0 pending, 0 changed or missing');
    expect(run.output).not.toContain(PASSWORD);
    expect(run.code).toBe(0);
  });
});
