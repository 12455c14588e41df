import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from '../cli/bin.js';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;

beforeAll(async () => {
  f = await auditFixture();
  for (let i = 0; i < 3; i++) await f.cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
});

afterAll(async () => {
  await f?.close();
});

const env = () => ({ ...baseEnv(), DATABASE_URL: f.database.url });

describe.skipIf(!built)('carebase audit verify (the built bin)', { timeout: 60_000 }, () => {
  it('exits 0 on an intact log, with --json too, and takes --url (without a password)', async () => {
    const text = await carebase(['audit', 'verify'], { env: env() });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/ok: \d+ entries verified/);
    // The app role's URL carries a password: on the command line without it, the password in PGPASSWORD.
    const url = new URL(f.database.url);
    const password = decodeURIComponent(url.password);
    url.password = '';
    const json = await carebase(['audit', 'verify', '--json', '--url', url.toString()], {
      env: { ...baseEnv(), ...(password === '' ? {} : { PGPASSWORD: password }) },
    });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, checked: 3 });
  });

  it('exits 1 and prints the first bad id when tampered', async () => {
    const { rows } = await f.admin('select min(id)::text as id from audit_log');
    const id = String(rows[0]?.id);
    await f.tamper(`update audit_log set resource_type = 'forged' where id = $1`, [id]);
    const run = await carebase(['audit', 'verify', '--from', '2000-01-01'], { env: env() });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`first bad entry id ${id} (entry_altered)`);
    const json = await carebase(['audit', 'verify', '--json'], { env: env() });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, firstBadId: id, reason: 'entry_altered' });
  });

  it('exits 2 on usage errors, and help goes to stdout', async () => {
    expect((await carebase(['audit', 'frobnicate'], { env: env() })).code).toBe(2);
    expect((await carebase(['audit', 'verify', '--from', 'yesterday-ish'], { env: env() })).code).toBe(2);
    const help = await carebase(['audit', 'verify', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
  });
});
