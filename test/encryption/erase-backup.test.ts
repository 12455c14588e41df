import { randomBytes } from 'node:crypto';
import { type Carebase, createCarebase, DecryptionError, localKeyring } from 'carebase';
import { createBackup, restoreBackup } from 'carebase/backup';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPgDump, type PasswordDatabase, passwordDatabase, tempDir } from '../support/backup.js';
import { failure } from '../support/rejection.js';

/**
 * Crypto-shredding and backups (docs/encryption.md, "Erasure and backups"), end to end with
 * carebase's own pg_dump backups against a real PostgreSQL: a backup taken before `users.erase`
 * still holds the erased user's wrapped data key, so it stays unreadable only once the KEK that
 * wrapped it is destroyed: rotate the KEK after the erasure (rewrapKeys), then drop the old KEK.
 */
const K1 = randomBytes(32);
const K2 = randomBytes(32);
const SECRET = 'erythropoietin-okapi';

let db: PasswordDatabase;
let dir: { path: string; remove(): Promise<void> };
const instances: Carebase[] = [];

function open(database: string, keys: Record<string, Buffer>, current: string): Carebase {
  const url = new URL(db.url);
  url.pathname = `/${database}`;
  const cb = createCarebase({
    connectionString: url.toString(),
    pool: { max: 2 },
    encryption: { keyring: localKeyring({ keys, current }) },
  });
  instances.push(cb);
  return cb;
}

beforeAll(async () => {
  db = await passwordDatabase();
  dir = await tempDir();
});

afterAll(async () => {
  for (const cb of instances) await cb.close();
  await db?.drop();
  await dir?.remove();
});

describeWithPgDump('erase, then restore a backup taken before it', { timeout: 180_000 }, () => {
  it("the erased user's content cannot be decrypted from the old backup once the old KEK is destroyed", async () => {
    const live = open(db.name, { k1: K1 }, 'k1');
    await live.migrate();
    const schema = live.config.schema;
    const [alice, bob] = await Promise.all(
      ['alice', 'bob'].map(async (name) => {
        const [row] = await db.query<{ id: string }>(
          `insert into "${schema}".users (username, email, password_hash, role)
           values ('${name}', '${name}@example.org', 'x', 'nurse') returning id`,
        );
        return (row as { id: string }).id;
      }),
    );
    await live.chat.append({ userId: alice as string, role: 'user', content: `alice ${SECRET}` });
    await live.chat.append({ userId: bob as string, role: 'user', content: 'bob stays' });

    const backup = await createBackup({ connectionString: db.url, dir: dir.path });
    await live.users.erase(alice as string);
    expect(
      await db.query(`select 1 from "${schema}".encryption_data_keys where user_id = '${alice}'`),
    ).toEqual([]);

    // KEK rotation after the erasure: every remaining data key moves to k2; k1 is then destroyed.
    const rotating = open(db.name, { k1: K1, k2: K2 }, 'k2');
    expect(await rotating.encryption.rewrapKeys()).toEqual({ rewrapped: 1 });
    const afterRotation = open(db.name, { k2: K2 }, 'k2');
    expect((await afterRotation.chat.history({ userId: bob as string })).items.map((m) => m.content)).toEqual(
      ['bob stays'],
    );

    const restored = await restoreBackup(backup.path, { connectionString: db.url });
    db.extraDatabases.push(restored.database);
    // The backup holds no readable word, only envelopes, tokens and wrapped keys.
    const rows = await db.query<{ row: string }>(
      `select t::text as row from "${schema}".chat_messages t`,
      restored.database,
    );
    expect(rows).toHaveLength(2);
    for (const { row } of rows) expect(row).not.toContain('okapi');

    // With the keyring as it is now (k1 destroyed): the erased user's content does not decrypt.
    const now = open(restored.database, { k2: K2 }, 'k2');
    const error = await failure(now.chat.history({ userId: alice as string }));
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error).toMatchObject({ table: 'encryption_data_keys', rowId: alice, reason: 'unknown_key' });
    expect(await failure(now.chat.search({ userId: alice as string, query: 'okapi' }))).toBeInstanceOf(
      DecryptionError,
    );
    // ... and neither does anyone else's in that old backup: its keys are all wrapped by k1 (documented).
    expect(await failure(now.chat.history({ userId: bob as string }))).toBeInstanceOf(DecryptionError);

    // Whoever still holds k1 reads the old backup: the guarantee needs the old KEK destroyed.
    const withOldKek = open(restored.database, { k1: K1 }, 'k1');
    expect((await withOldKek.chat.history({ userId: alice as string })).items.map((m) => m.content)).toEqual([
      `alice ${SECRET}`,
    ]);
  });
});
