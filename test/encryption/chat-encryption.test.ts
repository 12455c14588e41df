import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  type Carebase,
  type CarebaseOptions,
  ConflictError,
  createCarebase,
  DecryptionError,
  type Keyring,
  localKeyring,
  UnsupportedOperationError,
} from 'carebase';
import { findPgTools } from 'carebase/backup';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPgDump } from '../support/backup.js';
import { failure } from '../support/rejection.js';

const execFileAsync = promisify(execFile);

/**
 * Envelope encryption of chat content against a real PostgreSQL: what the database holds (read as
 * the owner with raw SQL), what carebase returns, and how every kind of damage is reported.
 */
const KEK = randomBytes(32).toString('base64');
const keyring = localKeyring({ keys: { 'kek-1': KEK }, current: 'kek-1' });
const SECRET_WORDS = 'metoprolol-zebra-quokka';

let database: TestDatabase;
let cb: Carebase;
let owner: pg.Client;
let schema: string;
const others: Carebase[] = [];

/** Another instance on the same database (app role), with other options. */
function instance(options: Partial<CarebaseOptions>): Carebase {
  const made = createCarebase({ connectionString: database.url, schema, pool: { max: 2 }, ...options });
  others.push(made);
  return made;
}

async function user(): Promise<string> {
  const name = `u_${randomBytes(5).toString('hex')}`;
  const { rows } = await owner.query<{ id: string }>(
    `insert into "${schema}".users (username, email, password_hash, role) values ($1, $1 || '@example.org', 'x', 'nurse') returning id`,
    [name],
  );
  return (rows[0] as { id: string }).id;
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pool: { max: 4 }, encryption: { keyring } } });
  cb = database.db;
  schema = cb.config.schema;
  owner = new pg.Client({ connectionString: database.ownerUrl });
  owner.on('error', () => undefined);
  await owner.connect();
});

afterAll(async () => {
  for (const other of others) await other.close();
  await owner?.end();
  await database?.drop();
});

describe('chat with encryption on', () => {
  it("shared conversations: a member writes under the owner's key, every participant reads it back", async () => {
    const patient = await user();
    const clinician = await user();
    const { id } = await cb.chat.createConversation({ userId: patient, title: `Knee ${SECRET_WORDS}` });
    await cb.chat.addParticipant({
      userId: patient,
      conversationId: id,
      participantId: clinician,
      role: 'member',
    });
    const reply = await cb.chat.append({
      userId: clinician,
      conversationId: id,
      role: 'user',
      content: `X-ray ${SECRET_WORDS}`,
    });
    expect(reply).toMatchObject({
      userId: patient,
      authorUserId: clinician,
      content: `X-ray ${SECRET_WORDS}`,
    });
    await cb.chat.appendMany([
      { userId: clinician, conversationId: id, role: 'assistant', content: `Batch ${SECRET_WORDS}` },
    ]);
    for (const reader of [patient, clinician]) {
      const page = await cb.chat.history({ userId: reader, conversationId: id });
      expect(page.items.map((m) => m.content)).toEqual([`X-ray ${SECRET_WORDS}`, `Batch ${SECRET_WORDS}`]);
      let text = '';
      for await (const chunk of cb.chat.export({ userId: reader, conversationId: id, format: 'jsonl' }))
        text += String(chunk);
      expect(text).toContain(`X-ray ${SECRET_WORDS}`);
    }
    const updated = await cb.chat.updateConversation(id, {
      userId: clinician,
      status: 'escalated',
      metadata: { ward: SECRET_WORDS },
    });
    expect(updated).toMatchObject({
      title: `Knee ${SECRET_WORDS}`,
      metadata: { ward: SECRET_WORDS },
      status: 'escalated',
    });
    const { rows } = await owner.query(
      `select count(*)::int as n from "${schema}".conversations where id = $1 and (title like $2 or metadata::text like $2)`,
      [id, `%${SECRET_WORDS}%`],
    );
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('round-trips every chat read and write, and the database holds no readable text', async () => {
    const userId = await user();
    const conversation = await cb.chat.createConversation({
      userId,
      title: `Title ${SECRET_WORDS}`,
      metadata: { ward: `ward ${SECRET_WORDS}` },
    });
    expect(conversation.title).toBe(`Title ${SECRET_WORDS}`);
    expect(conversation.metadata).toEqual({ ward: `ward ${SECRET_WORDS}` });
    const one = await cb.chat.append({
      userId,
      conversationId: conversation.id,
      role: 'user',
      content: `Question ${SECRET_WORDS} ünïcødé 🩺`,
      metadata: { tokens: 12, note: SECRET_WORDS },
    });
    expect(one.content).toBe(`Question ${SECRET_WORDS} ünïcødé 🩺`);
    expect(one.metadata).toEqual({ tokens: 12, note: SECRET_WORDS });
    const toDefault = await cb.chat.append({ userId, role: 'assistant', content: `Default ${SECRET_WORDS}` });
    const many = await cb.chat.appendMany([
      { userId, conversationId: conversation.id, role: 'assistant', content: `Answer ${SECRET_WORDS}` },
      { userId, role: 'user', content: `Second default ${SECRET_WORDS}`, id: 'client-1' },
    ]);
    expect(many.map((m) => m.content)).toEqual([`Answer ${SECRET_WORDS}`, `Second default ${SECRET_WORDS}`]);
    expect(many[1]?.conversationId).toBe(toDefault.conversationId);

    const history = await cb.chat.history({ userId, conversationId: conversation.id });
    expect(history.items.map((m) => m.content)).toEqual([
      `Question ${SECRET_WORDS} ünïcødé 🩺`,
      `Answer ${SECRET_WORDS}`,
    ]);
    expect(history.items[0]?.metadata).toEqual({ tokens: 12, note: SECRET_WORDS });
    const defaults = await cb.chat.history({ userId, limit: 1 });
    expect(defaults.items[0]?.content).toBe(`Default ${SECRET_WORDS}`);
    const next = await cb.chat.history({ userId, limit: 1, cursor: defaults.nextCursor });
    expect(next.items[0]?.content).toBe(`Second default ${SECRET_WORDS}`);
    expect((await cb.chat.latest({ userId, n: 1 }))[0]?.content).toBe(`Second default ${SECRET_WORDS}`);

    const renamed = await cb.chat.renameConversation({
      userId,
      conversationId: conversation.id,
      title: `Renamed ${SECRET_WORDS}`,
    });
    expect(renamed.title).toBe(`Renamed ${SECRET_WORDS}`);
    expect(renamed.metadata).toEqual({ ward: `ward ${SECRET_WORDS}` });
    expect((await cb.chat.getConversation({ userId, conversationId: conversation.id })).title).toBe(
      `Renamed ${SECRET_WORDS}`,
    );
    const listed = await cb.chat.listConversations({ userId });
    expect(new Set(listed.items.map((c) => c.title))).toEqual(new Set([null, `Renamed ${SECRET_WORDS}`]));

    let exported = '';
    for await (const chunk of cb.chat.export({ userId, format: 'jsonl' })) exported += chunk;
    expect(exported).toContain(`Question ${SECRET_WORDS} ünïcødé 🩺`);
    expect(exported).toContain(`"note":"${SECRET_WORDS}"`);
    const data = await cb.users.exportData(userId);
    expect(JSON.stringify(data)).toContain(`Answer ${SECRET_WORDS}`);
    expect(JSON.stringify(data)).toContain(`Renamed ${SECRET_WORDS}`);

    // The database side, as the owner: every column of every row of every table, as text
    // (the blind index included: chat_messages.search_tokens holds keyed tokens only).
    const { rows: tables } = await owner.query<{ name: string }>(
      `select table_name as name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'`,
      [schema],
    );
    expect(tables.map((t) => t.name)).toContain('chat_messages');
    for (const { name } of tables) {
      const { rows } = await owner.query<{ row: string }>(
        `select t::text as row from "${schema}"."${name}" t`,
      );
      if (['chat_messages', 'conversations', 'encryption_data_keys'].includes(name)) {
        expect(rows.length).toBeGreaterThan(0);
      }
      for (const { row } of rows) {
        expect(row).not.toContain('metoprolol');
        expect(row).not.toContain('quokka');
        expect(row).not.toContain('Question');
      }
    }
    const { rows: indexed } = await owner.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".chat_messages where user_id = $1 and cardinality(search_tokens) > 0`,
      [userId],
    );
    expect(indexed[0]?.n).toBe(4);
    expect(
      (await cb.chat.search({ userId, query: 'metoprolol question' })).items.map((h) => h.message.id),
    ).toEqual([one.id]);
    const { rows: vectors } = await owner.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".chat_messages where user_id = $1 and (search_vector <> ''::tsvector or content <> '')`,
      [userId],
    );
    expect(vectors[0]?.n).toBe(0);
    const { rows: keys } = await owner.query<{ kek_id: string; n: number }>(
      `select kek_id, length(wrapped_key)::int as n from "${schema}".encryption_data_keys where user_id = $1`,
      [userId],
    );
    // One data key, wrapped: iv (12) + 32 key bytes + tag (16).
    expect(keys).toEqual([{ kek_id: 'kek-1', n: 60 }]);
  });

  it('keeps idempotent retries: the same client id and content returns the first message, other content conflicts', async () => {
    const userId = await user();
    const first = await cb.chat.append({ userId, role: 'user', content: 'retry me', id: 'r-1' });
    const again = await cb.chat.append({ userId, role: 'user', content: 'retry me', id: 'r-1' });
    expect(again.id).toBe(first.id);
    expect(again.content).toBe('retry me');
    expect(
      await failure(cb.chat.append({ userId, role: 'user', content: 'other', id: 'r-1' })),
    ).toBeInstanceOf(ConflictError);
  });

  it('searches through the blind index: finds words, the database holds only keyed tokens', async () => {
    const userId = await user();
    await cb.chat.append({ userId, role: 'user', content: `insulin dose ${SECRET_WORDS}` });
    const page = await cb.chat.search({ userId, query: 'quokka insulin' });
    expect(page.items.map((hit) => hit.message.content)).toEqual([`insulin dose ${SECRET_WORDS}`]);
    expect(page.items[0]?.snippet).toContain('<b>insulin</b>');
  });

  it('refuses the bulk imports rather than store plaintext', async () => {
    const error = await failure(cb.imports.messages({ source: 'legacy', messages: [] }));
    expect(error).toBeInstanceOf(UnsupportedOperationError);
  });

  it('seals the legacy JSON import too', async () => {
    const userId = await user();
    const { rows } = await owner.query<{ username: string }>(
      `select username from "${schema}".users where id = $1`,
      [userId],
    );
    const username = (rows[0] as { username: string }).username;
    await cb.chat.importLegacyJson({ [username]: [{ role: 'user', content: `legacy ${SECRET_WORDS}` }] });
    const page = await cb.chat.history({ userId });
    expect(page.items.map((m) => m.content)).toEqual([`legacy ${SECRET_WORDS}`]);
    const { rows: raw } = await owner.query<{ row: string }>(
      `select t::text as row from "${schema}".chat_messages t where user_id = $1`,
      [userId],
    );
    expect(raw[0]?.row).not.toContain('quokka');
  });
});

describe('damaged, moved or unreadable ciphertext: a typed error naming the row', () => {
  async function sealedMessage(content = `secret ${SECRET_WORDS}`) {
    const userId = await user();
    const conversation = await cb.chat.createConversation({ userId });
    const message = await cb.chat.append({ userId, conversationId: conversation.id, role: 'user', content });
    return { userId, conversationId: conversation.id, message };
  }

  async function expectDecryptionError(
    promise: Promise<unknown>,
    rowId: string,
    reason: DecryptionError['reason'],
    table = 'chat_messages',
  ): Promise<void> {
    const error = await failure(promise);
    expect(error).toBeInstanceOf(DecryptionError);
    const decryption = error as DecryptionError;
    expect({ table: decryption.table, rowId: decryption.rowId, reason: decryption.reason }).toEqual({
      table,
      rowId,
      reason,
    });
    expect(decryption.message).toContain(rowId);
    expect(decryption.message).not.toContain('quokka');
    expect(String(decryption.stack)).not.toContain('quokka');
  }

  it('a flipped byte in the ciphertext: tampered', async () => {
    const { userId, conversationId, message } = await sealedMessage();
    // Flip one bit of the stored envelope's body (after the prefix and header).
    await owner.query(
      `update "${schema}".chat_messages set metadata = to_jsonb(
         overlay(metadata #>> '{}' placing (case when substr(metadata #>> '{}', 40, 1) = 'A' then 'B' else 'A' end) from 40 for 1))
       where user_id = $1 and id = $2`,
      [userId, message.id],
    );
    await expectDecryptionError(cb.chat.history({ userId, conversationId }), message.id, 'tampered');
  });

  it('a truncated ciphertext: malformed or tampered, never garbage', async () => {
    const { userId, conversationId, message } = await sealedMessage();
    await owner.query(
      `update "${schema}".chat_messages set metadata = to_jsonb(left(metadata #>> '{}', 20)) where user_id = $1 and id = $2`,
      [userId, message.id],
    );
    await expectDecryptionError(cb.chat.history({ userId, conversationId }), message.id, 'malformed');
    const second = await sealedMessage();
    await owner.query(
      `update "${schema}".chat_messages set metadata = to_jsonb(left(metadata #>> '{}', length(metadata #>> '{}') - 8)) where user_id = $1 and id = $2`,
      [second.userId, second.message.id],
    );
    await expectDecryptionError(
      cb.chat.history({ userId: second.userId, conversationId: second.conversationId }),
      second.message.id,
      'tampered',
    );
  });

  it('a ciphertext moved to another conversation of the same user (same key): tampered, by the associated data', async () => {
    const { userId, message } = await sealedMessage();
    const other = await cb.chat.createConversation({ userId });
    const target = await cb.chat.append({
      userId,
      conversationId: other.id,
      role: 'user',
      content: 'harmless',
    });
    await owner.query(
      `update "${schema}".chat_messages t set metadata = s.metadata
       from "${schema}".chat_messages s where s.user_id = $1 and s.id = $2 and t.user_id = $1 and t.id = $3`,
      [userId, message.id, target.id],
    );
    await expectDecryptionError(cb.chat.history({ userId, conversationId: other.id }), target.id, 'tampered');
  });

  it('a ciphertext moved to another role of the same conversation: tampered', async () => {
    const { userId, conversationId, message } = await sealedMessage();
    await owner.query(`update "${schema}".chat_messages set role = 'system' where user_id = $1 and id = $2`, [
      userId,
      message.id,
    ]);
    await expectDecryptionError(cb.chat.history({ userId, conversationId }), message.id, 'tampered');
  });

  it('a ciphertext moved to another user: tampered (other key, other identity)', async () => {
    const a = await sealedMessage();
    const b = await sealedMessage('bob');
    await owner.query(
      `update "${schema}".chat_messages t set metadata = s.metadata
       from "${schema}".chat_messages s where s.user_id = $1 and s.id = $2 and t.user_id = $3 and t.id = $4`,
      [a.userId, a.message.id, b.userId, b.message.id],
    );
    await expectDecryptionError(
      cb.chat.history({ userId: b.userId, conversationId: b.conversationId }),
      b.message.id,
      'tampered',
    );
  });

  it('a conversation envelope moved to another conversation: tampered', async () => {
    const userId = await user();
    const secret = await cb.chat.createConversation({ userId, title: 'secret title' });
    const other = await cb.chat.createConversation({ userId, title: 'other' });
    await owner.query(
      `update "${schema}".conversations t set metadata = s.metadata
       from "${schema}".conversations s where s.id = $1 and t.id = $2`,
      [secret.id, other.id],
    );
    await expectDecryptionError(
      cb.chat.getConversation({ userId, conversationId: other.id }),
      other.id,
      'tampered',
      'conversations',
    );
  });

  it('a keyring without the KEK: unknown_key; a different KEK under the same id: tampered (on the data key)', async () => {
    const { userId, conversationId } = await sealedMessage();
    const missing = instance({
      encryption: { keyring: localKeyring({ keys: { 'kek-2': randomBytes(32) }, current: 'kek-2' }) },
    });
    await expectDecryptionError(
      missing.chat.history({ userId, conversationId }),
      userId,
      'unknown_key',
      'encryption_data_keys',
    );
    const wrong = instance({
      encryption: { keyring: localKeyring({ keys: { 'kek-1': randomBytes(32) }, current: 'kek-1' }) },
    });
    await expectDecryptionError(
      wrong.chat.history({ userId, conversationId }),
      userId,
      'tampered',
      'encryption_data_keys',
    );
  });

  it('a host keyring whose unwrap fails: the typed error keeps the host error as its cause', async () => {
    const { userId, conversationId } = await sealedMessage();
    const outage = new Error('kms unreachable');
    const failing: Keyring = {
      currentKeyId: 'kek-1',
      wrapKey: () => {
        throw outage;
      },
      unwrapKey: () => Promise.reject(outage),
    };
    const error = await failure(
      instance({ encryption: { keyring: failing } }).chat.history({ userId, conversationId }),
    );
    expect(error).toBeInstanceOf(DecryptionError);
    expect((error as DecryptionError).cause).toBe(outage);
  });

  it('encryption off, sealed rows: missing_key, never the envelope as metadata', async () => {
    const { userId, conversationId, message } = await sealedMessage();
    const plain = instance({});
    await expectDecryptionError(plain.chat.history({ userId, conversationId }), message.id, 'missing_key');
  });

  it("plaintextReads: 'refuse' refuses a clear row written behind carebase's back", async () => {
    const userId = await user();
    const plain = instance({});
    const written = await plain.chat.append({ userId, role: 'user', content: 'clear text' });
    expect((await cb.chat.history({ userId })).items[0]?.content).toBe('clear text');
    const strict = instance({ encryption: { keyring, plaintextReads: 'refuse' } });
    await expectDecryptionError(strict.chat.history({ userId }), written.id, 'malformed');
  });
});

describe('keys and transactions', () => {
  it('a data key created in a transaction that rolls back is never used: later writes stay readable everywhere', async () => {
    const userId = await user();
    await failure(
      cb.transaction(async (tx) => {
        await tx.chat.append({ userId, role: 'user', content: 'rolled back' });
        throw new Error('abort');
      }),
    );
    await cb.chat.append({ userId, role: 'user', content: 'kept' });
    const fresh = instance({ encryption: { keyring } });
    expect((await fresh.chat.history({ userId })).items.map((m) => m.content)).toEqual(['kept']);
  });

  it('appends inside a transaction commit sealed rows readable by another instance', async () => {
    const userId = await user();
    await cb.transaction(async (tx) => {
      const conversation = await tx.chat.createConversation({ userId, title: 'in tx' });
      await tx.chat.append({ userId, conversationId: conversation.id, role: 'user', content: 'in tx 1' });
      await tx.chat.append({ userId, role: 'user', content: 'in tx 2' });
    });
    const fresh = instance({ encryption: { keyring } });
    expect((await fresh.chat.history({ userId })).items.map((m) => m.content)).toEqual(['in tx 2']);
    const listed = await fresh.chat.listConversations({ userId });
    expect(new Set(listed.items.map((c) => c.title))).toEqual(new Set([null, 'in tx']));
  });

  it('a remembered conversation owner never lets a removed participant write, nor an erased owner', async () => {
    const patient = await user();
    const clinician = await user();
    const { id } = await cb.chat.createConversation({ userId: patient });
    await cb.chat.addParticipant({
      userId: patient,
      conversationId: id,
      participantId: clinician,
      role: 'member',
    });
    // The first append checks participation and remembers the owner; the later ones seal without asking.
    await cb.chat.append({ userId: clinician, conversationId: id, role: 'user', content: 'first' });
    await cb.chat.append({ userId: patient, conversationId: id, role: 'user', content: 'second' });
    await cb.chat.removeParticipant({ userId: patient, conversationId: id, participantId: clinician });
    const removed = await failure(
      cb.chat.append({ userId: clinician, conversationId: id, role: 'user', content: 'third' }),
    );
    expect(removed).toMatchObject({ code: 'FORBIDDEN' });
    await cb.users.erase(patient);
    const erased = await failure(
      cb.chat.append({ userId: clinician, conversationId: id, role: 'user', content: 'fourth' }),
    );
    expect(erased).toMatchObject({ code: 'NOT_FOUND', resource: 'conversation' });
    const { rows } = await owner.query(
      `select (select count(*)::int from "${schema}".chat_messages where conversation_id = $1) as messages,
        (select count(*)::int from "${schema}".encryption_data_keys where user_id = $2) as keys`,
      [id, patient],
    );
    expect(rows[0]).toEqual({ messages: 0, keys: 0 });
  });

  it('a cached default conversation that was deleted is replaced on the next append', async () => {
    const userId = await user();
    const first = await cb.chat.append({ userId, role: 'user', content: 'one' });
    await cb.chat.deleteConversation({ userId, conversationId: first.conversationId });
    const second = await cb.chat.append({ userId, role: 'user', content: 'two' });
    expect(second.conversationId).not.toBe(first.conversationId);
    expect((await cb.chat.history({ userId })).items.map((m) => m.content)).toEqual(['two']);
  });
});

describeWithPgDump('a pg_dump of the database', { timeout: 60_000 }, () => {
  it('holds no message text, title or metadata with encryption on', async () => {
    const userId = await user();
    const conversation = await cb.chat.createConversation({ userId, title: `dump title ${SECRET_WORDS}` });
    await cb.chat.append({
      userId,
      conversationId: conversation.id,
      role: 'user',
      content: `dump content ${SECRET_WORDS}`,
      metadata: { note: `dump meta ${SECRET_WORDS}` },
    });
    const { pgDump } = await findPgTools();
    const { stdout } = await execFileAsync(pgDump, ['--data-only', `--schema=${schema}`, database.ownerUrl], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(stdout).toContain('cb1:');
    expect(stdout).not.toContain('quokka');
    expect(stdout).not.toContain('metoprolol');
    expect(stdout).not.toContain('dump content');
    // The blind index is in the dump as tokens, and search still finds the words.
    expect(stdout).toMatch(/\{-?\d+(,-?\d+)+\}/);
    const page = await cb.chat.search({ userId, query: 'zebra' });
    expect(page.items).toHaveLength(1);
  });
});
