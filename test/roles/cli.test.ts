import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from '../cli/bin.js';

// The role is cluster-wide: a unique name, dropped in afterAll.
const role = `carebase_test_${randomBytes(6).toString('hex')}_cli`;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' });
});

afterAll(async () => {
  await database?.drop();
  const admin = new pg.Client({ connectionString: process.env.CAREBASE_TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`drop role if exists "${role}"`).finally(() => admin.end());
});

describe.skipIf(!built)('carebase roles grant (the built bin)', { timeout: 60_000 }, () => {
  it('creates the app role with its password from the environment, and it can log in but not write audit state', async () => {
    const password = randomBytes(12).toString('base64url');
    const env = { ...baseEnv(), DATABASE_URL: database.ownerUrl, CAREBASE_APP_ROLE_PASSWORD: password };
    const first = await carebase(['roles', 'grant', '--app-role', role, '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, role, created: true, schema: 'carebase' });
    expect(first.stdout + first.stderr).not.toContain(password);
    const again = await carebase(['roles', 'grant', '--app-role', role], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`reset app role ${role}`);

    const url = new URL(database.ownerUrl);
    url.username = role;
    url.password = password;
    const app = new pg.Client({ connectionString: url.toString() });
    await app.connect();
    try {
      expect((await app.query('select count(*)::int as n from carebase.users')).rows[0]?.n).toBe(0);
      const refused = await app
        .query('update carebase.audit_seal_state set watermark = 0')
        .catch((e: unknown) => e);
      expect((refused as { code?: string }).code).toBe('42501');
    } finally {
      await app.end();
    }
    const missing = await carebase(['roles', 'grant'], { env });
    expect(missing.code).toBe(2);
  });
});
