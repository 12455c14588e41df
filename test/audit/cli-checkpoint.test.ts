import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from '../cli/bin.js';
import { type AuditFixture, auditFixture } from '../support/audit.js';

let f: AuditFixture;
let dir: string;
let keys: string;

beforeAll(async () => {
  f = await auditFixture({ schema: 'cli_checkpoint' });
  for (let i = 0; i < 4; i++)
    await f.cb.audit.log({ action: 'chart.view', resourceType: 'chart', resourceId: `c-${i}` });
  keys = await mkdtemp(join(tmpdir(), 'carebase-keys-'));
  dir = join(keys, 'checkpoints');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await writeFile(join(keys, 'private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  await writeFile(join(keys, 'public.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
});

afterAll(async () => {
  await f?.close();
  if (keys !== undefined) await rm(keys, { recursive: true, force: true });
});

const env = () => ({ ...baseEnv(), DATABASE_URL: f.database.url, CAREBASE_SCHEMA: 'cli_checkpoint' });

describe.skipIf(!built)(
  'carebase audit checkpoint / verify --checkpoints (the built bin)',
  { timeout: 60_000 },
  () => {
    it('writes a signed checkpoint, verifies against it, and exits 1 once a superuser rewrote the log', async () => {
      const written = await carebase(
        ['audit', 'checkpoint', '--dir', dir, '--key-file', join(keys, 'private.pem'), '--json'],
        {
          env: env(),
        },
      );
      expect(written.code, written.stderr).toBe(0);
      expect(JSON.parse(written.stdout)).toMatchObject({ ok: true, months: expect.any(Number) });
      expect(await readdir(dir)).toHaveLength(1);

      const verified = await carebase(['audit', 'verify', '--checkpoints', dir], {
        env: { ...env(), CAREBASE_AUDIT_PUBLIC_KEY_FILE: join(keys, 'public.pem') },
      });
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/consistent with 1 checkpoints/);

      // A full rewrite with recomputed hashes: the database alone still verifies, the checkpoint does not.
      await f.tamper("update audit_log set resource_id = 'forged'");
      await f.tamper('update audit_log l set row_hash = audit_row_hash(l)');
      await f.tamper('delete from audit_chain');
      await f.tamper('delete from audit_chain_head');
      await f.tamper("update audit_seal_state set watermark = 0, open_txids = '{}'");
      expect((await carebase(['audit', 'verify'], { env: env() })).code).toBe(0);
      const caught = await carebase(
        ['audit', 'verify', '--checkpoints', dir, '--public-key', join(keys, 'public.pem'), '--json'],
        {
          env: env(),
        },
      );
      expect(caught.code).toBe(1);
      expect(JSON.parse(caught.stdout)).toMatchObject({
        ok: false,
        reason: 'chain_rewritten',
        checkpoint: { index: 0 },
      });
    });

    it('exits 2 without a key or a directory', async () => {
      expect((await carebase(['audit', 'checkpoint', '--dir', dir], { env: env() })).code).toBe(2);
      expect(
        (await carebase(['audit', 'checkpoint', '--key-file', join(keys, 'private.pem')], { env: env() }))
          .code,
      ).toBe(2);
      expect((await carebase(['audit', 'verify', '--checkpoints', dir], { env: env() })).code).toBe(2);
    });
  },
);
