import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A consumer project OUTSIDE the repository installs the packed tarball (as `npm install carebase`
// would) and uses it from ESM and from CJS. `npm test` builds first.
const root = fileURLToPath(new URL('../..', import.meta.url));
const built = existsSync(join(root, 'dist/index.js'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let database: TestDatabase;
let consumer: string;
let packed: string[];

beforeAll(async () => {
  if (!built) return;
  database = await createTestDatabase({ migrate: false });
  consumer = mkdtempSync(join(tmpdir(), 'carebase-consumer-'));
  const json = execFileSync(npm, ['pack', '--json', '--pack-destination', consumer], {
    cwd: root,
    encoding: 'utf8',
  });
  const [info] = JSON.parse(json) as [{ filename: string; files: { path: string }[] }];
  packed = info.files.map((file) => file.path);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync(
    npm,
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      `./${info.filename}`,
      'kysely',
      'pg',
    ],
    // No install scripts approved: npm 11 blocks them by default, and carebase must still work
    // (bcrypt loads its prebuilt binary).
    { cwd: consumer, encoding: 'utf8' },
  );
}, 180_000);

afterAll(async () => {
  if (consumer !== undefined) rmSync(consumer, { recursive: true, force: true });
  await database?.drop();
});

function node(file: string, source: string): Record<string, unknown> {
  writeFileSync(join(consumer, file), source);
  const output = execFileSync(process.execPath, [file], {
    cwd: consumer,
    encoding: 'utf8',
    env: { ...process.env, TEST_URL: database.url },
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

describe.skipIf(!built)('the packed tarball in a consumer project (skipped when dist/ is missing)', () => {
  it('contains dist for all five entry points, the CLI and migrations/, and nothing from src/ or test/', () => {
    for (const entry of ['index', 'migration', 'backup', 'testing', 'schemas']) {
      for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) expect(packed).toContain(`dist/${entry}.${ext}`);
    }
    expect(packed).toContain('dist/cli.js');
    expect(packed.some((path) => path.startsWith('migrations/') && path.endsWith('.sql'))).toBe(true);
    expect(packed.some((path) => path.startsWith('src/') || path.startsWith('test/'))).toBe(false);
    // Only what a user needs: code, types, the SQL for review, and the top-level docs.
    const unexpected = packed.filter(
      (path) =>
        !/^dist\/[\w.-]+\.(js|cjs|d\.ts|d\.cts)$/.test(path) &&
        !/^migrations\/\d{4}_\w+\.sql$/.test(path) &&
        !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(path),
    );
    expect(unexpected).toEqual([]);
  });

  it('works from an ESM consumer', () => {
    const result = node(
      'esm.mjs',
      `import { createCarebase } from 'carebase';
       const cb = createCarebase({ connectionString: process.env.TEST_URL, schema: 'esm_pkg' });
       const { results } = await cb.migrate();
       const health = await cb.health();
       await cb.close();
       console.log(JSON.stringify({ ok: health.ok, applied: results.length }));`,
    );
    expect(result.ok).toBe(true);
    expect(result.applied).toBeGreaterThan(0);
  });

  it('loads the native bcrypt binding without approved install scripts', () => {
    const result = node(
      'bcrypt.mjs',
      `import { createRequire } from 'node:module';
       const bcrypt = createRequire(import.meta.url)('bcrypt');
       const hash = await bcrypt.hash('correct horse', 4);
       console.log(JSON.stringify({ ok: await bcrypt.compare('correct horse', hash) }));`,
    );
    expect(result).toEqual({ ok: true });
  });

  it('works from a CJS consumer', () => {
    const result = node(
      'cjs.cjs',
      `const { createCarebase } = require('carebase');
       const { migrationStatus } = require('carebase/migration');
       (async () => {
         const cb = createCarebase({ connectionString: process.env.TEST_URL, schema: 'cjs_pkg' });
         await cb.migrate();
         const [status] = await migrationStatus(process.env.TEST_URL, { schema: 'cjs_pkg' });
         const health = await cb.health();
         await cb.close();
         console.log(JSON.stringify({ ok: health.ok, pending: status.pending.length }));
       })().catch((error) => { console.error(error); process.exit(1); });`,
    );
    expect(result).toEqual({ ok: true, pending: 0 });
  });

  it('accounts from outside: approval, TOTP from the URI, replay refused, backup code once, password policy', () => {
    const result = node(
      'accounts.mjs',
      `import { randomBytes } from 'node:crypto';
       import { createCarebase } from 'carebase';
       import * as OTPAuth from 'otpauth';
       const cb = createCarebase({
         connectionString: process.env.TEST_URL,
         schema: 'accounts_pkg',
         users: { bcryptCost: 10, mfa: { encryptionKey: randomBytes(32) } },
       });
       await cb.migrate();
       const out = {};
       const password = 'Übermäßig lange Passphrase über die Brücke, 東京 ✓ und noch ein paar Wörter!';
       out.length = [...password].length;
       const user = await cb.users.register({ email: 'ana@example.org', password });
       out.pending = (await cb.users.authenticate({ login: 'ana@example.org', password })).reason;
       await cb.users.approve(user.id);
       out.login = (await cb.users.authenticate({ login: 'ANA@example.org', password })).ok;
       const { uri } = await cb.users.mfa.beginTotpEnrollment(user.id);
       const totp = OTPAuth.URI.parse(uri);
       const confirmed = await cb.users.mfa.confirmTotpEnrollment(user.id, totp.generate());
       const challenge = async () => (await cb.users.authenticate({ login: 'ana@example.org', password })).challenge;
       const code = totp.generate({ timestamp: Date.now() + 30_000 });
       out.code = (await cb.users.mfa.verify({ challenge: await challenge(), code })).ok;
       out.replay = (await cb.users.mfa.verify({ challenge: await challenge(), code })).reason;
       const backup = confirmed.backupCodes[0];
       out.backup = (await cb.users.mfa.verify({ challenge: await challenge(), code: backup })).ok;
       out.backupAgain = (await cb.users.mfa.verify({ challenge: await challenge(), code: backup })).reason;
       const common = await cb.users.create({ email: 'b@example.org', password: 'Password1234', role: 'nurse' }).catch((e) => e);
       out.common = common.issues?.[0]?.code;
       await cb.close();
       console.log(JSON.stringify(out));`,
    );
    expect(result).toEqual({
      length: expect.any(Number),
      pending: 'pending_approval',
      login: true,
      code: true,
      replay: 'invalid_code',
      backup: true,
      backupAgain: 'invalid_code',
      common: 'common_password',
    });
    expect(result.length).toBeGreaterThanOrEqual(64);
  });
});
