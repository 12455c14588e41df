import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../../src/cli/commands/audit.js';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;

beforeAll(async () => {
  f = await auditFixture();
  for (let i = 0; i < 3; i++) await f.cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
});

afterAll(async () => {
  await f?.close();
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const code = await auditCommand(argv, {
    stdout,
    stderr,
    isTTY: false,
    env: { DATABASE_URL: f.database.url },
  });
  return { code, out, err };
}

describe('carebase audit verify', () => {
  it('exits 0 on an intact log', async () => {
    const { code, out } = await run(['verify']);
    expect(code).toBe(0);
    expect(out).toMatch(/ok: \d+ entries verified/);
  });

  it('exits 1 and prints the first bad id when tampered', async () => {
    const { rows } = await f.admin('select min(id)::text as id from audit_log');
    const id = String(rows[0]?.id);
    await f.tamper(`update audit_log set resource_type = 'forged' where id = $1`, [id]);
    const { code, out } = await run(['verify', '--from', '2000-01-01']);
    expect(code).toBe(1);
    expect(out).toContain(`first bad entry id ${id} (entry_altered)`);
  });

  it('exits 2 on usage errors', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['verify', '--from', 'yesterday-ish'])).code).toBe(2);
    expect((await run(['--help'])).code).toBe(0);
  });
});
