import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { InvalidConfigurationError, type Keyring, localKeyring, localKeyringFromEnv } from 'carebase';
import { afterAll, describe, expect, it } from 'vitest';

/** Key files the file-keyring cases wrote, removed after the suite. */
const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** The Keyring contract, for every keyring carebase ships. */
const keyrings: [string, () => Keyring][] = [
  [
    'localKeyring',
    () => localKeyring({ keys: { a: randomBytes(32), b: randomBytes(32).toString('base64') }, current: 'b' }),
  ],
  [
    'localKeyringFromEnv (inline)',
    () =>
      localKeyringFromEnv({
        CAREBASE_ENCRYPTION_KEYS: `kms:a:${randomBytes(32).toString('base64')},b:${randomBytes(32).toString('base64')}`,
        CAREBASE_ENCRYPTION_CURRENT_KEY: 'b',
      }),
  ],
  [
    'localKeyringFromEnv (file)',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'carebase-keys-'));
      tempDirs.push(dir);
      const file = join(dir, 'keys.json');
      writeFileSync(
        file,
        JSON.stringify({
          current: 'b',
          keys: { a: randomBytes(32).toString('base64'), b: randomBytes(32).toString('base64') },
        }),
      );
      return localKeyringFromEnv({ CAREBASE_ENCRYPTION_KEYS_FILE: file });
    },
  ],
];

describe.each(keyrings)('%s: the Keyring contract', (_name, make) => {
  it('wraps under the current key and unwraps only with the same key id and context', async () => {
    const keyring = make();
    expect(keyring.currentKeyId).toBe('b');
    const dataKey = randomBytes(32);
    const wrapped = await keyring.wrapKey({ keyId: 'b', dataKey, context: 'carebase.dek.v1:u1:1' });
    expect(Buffer.from(wrapped).includes(dataKey)).toBe(false);
    expect(
      Buffer.from(await keyring.unwrapKey({ keyId: 'b', wrapped, context: 'carebase.dek.v1:u1:1' })),
    ).toEqual(dataKey);
    await expect(async () =>
      keyring.unwrapKey({ keyId: 'b', wrapped, context: 'carebase.dek.v1:u2:1' }),
    ).rejects.toThrow();
    const tampered = Buffer.from(wrapped);
    tampered[20] = (tampered[20] as number) ^ 1;
    await expect(async () =>
      keyring.unwrapKey({ keyId: 'b', wrapped: tampered, context: 'carebase.dek.v1:u1:1' }),
    ).rejects.toThrow();
    await expect(async () =>
      keyring.unwrapKey({ keyId: 'zz', wrapped, context: 'carebase.dek.v1:u1:1' }),
    ).rejects.toThrow();
  });

  it('never prints key material', () => {
    const keyring = make();
    const printed = `${inspect(keyring, { showHidden: true, depth: 10 })} ${JSON.stringify(keyring)}`;
    expect(printed).toContain('b');
    expect(printed).not.toMatch(/[A-Za-z0-9+/]{43}=/);
  });
});

describe('local keyring configuration', () => {
  it('refuses bad keys with InvalidConfigurationError naming the key id, never the value', () => {
    const short = randomBytes(16).toString('base64');
    const error = thrown(() => localKeyring({ keys: { old: short } }));
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as InvalidConfigurationError).field).toBe('encryption.keyring.keys.old');
    expect((error as Error).message).not.toContain(short);
    expect(thrown(() => localKeyring({ keys: {} }))).toBeInstanceOf(InvalidConfigurationError);
    expect(thrown(() => localKeyring({ keys: { a: randomBytes(32) }, current: 'b' }))).toBeInstanceOf(
      InvalidConfigurationError,
    );
    expect(thrown(() => localKeyring({ keys: { 'bad id': randomBytes(32) } }))).toBeInstanceOf(
      InvalidConfigurationError,
    );
  });

  it('from the environment: names the variable when unset or malformed', () => {
    const unset = thrown(() => localKeyringFromEnv({}));
    expect((unset as InvalidConfigurationError).field).toBe('CAREBASE_ENCRYPTION_KEYS');
    const malformed = thrown(() => localKeyringFromEnv({ CAREBASE_ENCRYPTION_KEYS: 'nocolon' }));
    expect((malformed as InvalidConfigurationError).field).toBe('CAREBASE_ENCRYPTION_KEYS');
    const missingFile = thrown(() =>
      localKeyringFromEnv({ CAREBASE_ENCRYPTION_KEYS_FILE: '/nonexistent/keys.json' }),
    );
    expect((missingFile as InvalidConfigurationError).field).toBe('CAREBASE_ENCRYPTION_KEYS_FILE');
    const single = localKeyringFromEnv({
      CAREBASE_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    });
    expect(single.currentKeyId).toBe('k1');
  });
});
