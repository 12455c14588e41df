import { randomBytes } from 'node:crypto';
import { type Carebase, createCarebase, localKeyring } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * chat.search with encryption on, through the blind keyword index, against a real PostgreSQL: what
 * it finds (words, phrases, exclusions, alternatives, shared conversations, pages), and what the
 * database holds (keyed tokens, per user), read as the owner with raw SQL.
 */
const keyring = localKeyring({ keys: { k1: randomBytes(32) }, current: 'k1' });

let database: TestDatabase;
let cb: Carebase;
let owner: pg.Client;
let schema: string;
const others: Carebase[] = [];

async function user(): Promise<string> {
  const name = `u_${randomBytes(5).toString('hex')}`;
  const { rows } = await owner.query<{ id: string }>(
    `insert into "${schema}".users (username, email, password_hash, role) values ($1, $1 || '@example.org', 'x', 'nurse') returning id`,
    [name],
  );
  return (rows[0] as { id: string }).id;
}

async function found(userId: string, query: string, conversationId?: string): Promise<string[]> {
  const page = await cb.chat.search({
    userId,
    query,
    ...(conversationId === undefined ? {} : { conversationId }),
  });
  return page.items.map((hit) => hit.message.content).sort();
}

async function tokensOf(messageId: string): Promise<string[]> {
  const { rows } = await owner.query<{ t: string[] }>(
    `select search_tokens::text[] as t from "${schema}".chat_messages where id = $1`,
    [messageId],
  );
  return (rows[0] as { t: string[] }).t;
}

beforeAll(async () => {
  database = await createTestDatabase({ carebase: { pool: { max: 3 }, encryption: { keyring } } });
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

describe('chat.search over encrypted messages', () => {
  it('finds words (all of them, folded: case, accents, NFKC), phrases, exclusions and alternatives', async () => {
    const userId = await user();
    await cb.chat.appendMany([
      { userId, role: 'user', content: 'Blood pressure is high after the CAFÉ visit' },
      { userId, role: 'assistant', content: 'High pressure in the blood vessels: see a doctor' },
      { userId, role: 'user', content: 'Insulin dose for tomorrow' },
      { userId, role: 'assistant', content: 'ｉｎｓｕｌｉｎ (full width) and metformin' },
    ]);
    expect(await found(userId, 'insulin')).toEqual([
      'Insulin dose for tomorrow',
      'ｉｎｓｕｌｉｎ (full width) and metformin',
    ]);
    expect(await found(userId, 'cafe')).toEqual(['Blood pressure is high after the CAFÉ visit']);
    expect(await found(userId, 'blood pressure')).toHaveLength(2);
    expect(await found(userId, '"blood pressure"')).toEqual(['Blood pressure is high after the CAFÉ visit']);
    expect(await found(userId, '"pressure blood"')).toEqual([]);
    expect(await found(userId, 'insulin -metformin')).toEqual(['Insulin dose for tomorrow']);
    expect(await found(userId, 'metformin or cafe')).toEqual([
      'Blood pressure is high after the CAFÉ visit',
      'ｉｎｓｕｌｉｎ (full width) and metformin',
    ]);
    expect(await found(userId, 'insulin glucagon')).toEqual([]);
    expect(await found(userId, 'the')).toEqual([]);
    expect(await found(userId, '')).toEqual([]);
    // Exact words: no stemming (documented).
    expect(await found(userId, 'doses')).toEqual([]);
  });

  it('ranks, snippets and pages like the clear search: every hit once, hasMore until the last page', async () => {
    const userId = await user();
    const filler = 'word '.repeat(40);
    await cb.chat.appendMany(
      Array.from({ length: 7 }, (_, i) => ({
        userId,
        role: 'user' as const,
        content: `${i % 2 === 0 ? 'aspirin aspirin' : `${filler}aspirin`} note ${i}`,
      })),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    const ranks: number[] = [];
    for (let pages = 0; pages < 10; pages++) {
      const page = await cb.chat.search({
        userId,
        query: 'aspirin',
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((hit) => hit.message.id));
      ranks.push(...page.items.map((hit) => hit.rank));
      expect(page.hasMore).toBe(page.nextCursor !== undefined);
      for (const hit of page.items) expect(hit.snippet).toContain('<b>aspirin</b>');
      cursor = page.nextCursor;
      if (cursor === undefined) break;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
    // Short messages about the word rank above long ones that mention it.
    expect(ranks[0]).toBeGreaterThan(ranks[6] as number);
  });

  it("searches the conversations shared with the user (under the owner's index key) and one conversation", async () => {
    const patient = await user();
    const clinician = await user();
    const shared = await cb.chat.createConversation({ userId: patient, title: 'shared' });
    const privateOne = await cb.chat.createConversation({ userId: patient, title: 'private' });
    await cb.chat.addParticipant({
      userId: patient,
      conversationId: shared.id,
      participantId: clinician,
      role: 'member',
    });
    await cb.chat.append({
      userId: patient,
      conversationId: shared.id,
      role: 'user',
      content: 'warfarin shared',
    });
    await cb.chat.append({
      userId: patient,
      conversationId: privateOne.id,
      role: 'user',
      content: 'warfarin private',
    });
    await cb.chat.append({ userId: clinician, role: 'user', content: 'warfarin own' });
    expect(await found(clinician, 'warfarin')).toEqual(['warfarin own', 'warfarin shared']);
    expect(await found(patient, 'warfarin')).toEqual(['warfarin private', 'warfarin shared']);
    expect(await found(clinician, 'warfarin', shared.id)).toEqual(['warfarin shared']);
  });

  it("stores keyed tokens only: one per distinct indexed word, equal within a user, another user's differ", async () => {
    const alice = await user();
    const bob = await user();
    const a1 = await cb.chat.append({
      userId: alice,
      role: 'user',
      content: 'Lisinopril the lisinopril LISINOPRIL',
    });
    const a2 = await cb.chat.append({ userId: alice, role: 'user', content: 'lisinopril again' });
    const b1 = await cb.chat.append({ userId: bob, role: 'user', content: 'lisinopril' });
    const [aliceFirst, aliceSecond, bobs] = [
      await tokensOf(a1.id),
      await tokensOf(a2.id),
      await tokensOf(b1.id),
    ];
    expect(aliceFirst).toHaveLength(1);
    expect(aliceSecond).toHaveLength(2);
    expect(aliceSecond).toContain(aliceFirst[0]);
    expect(bobs).toHaveLength(1);
    expect(bobs[0]).not.toBe(aliceFirst[0]);
    expect(await found(bob, 'lisinopril')).toEqual(['lisinopril']);
  });

  it('finds rows still in clear before encryptExisting(), and the same rows once sealed by it', async () => {
    const userId = await user();
    const plain = createCarebase({ connectionString: database.url, schema, pool: { max: 2 } });
    others.push(plain);
    await plain.chat.append({ userId, role: 'user', content: 'atorvastatin written in clear' });
    await cb.chat.append({ userId, role: 'user', content: 'atorvastatin written sealed' });
    expect(await found(userId, 'atorvastatin')).toEqual([
      'atorvastatin written in clear',
      'atorvastatin written sealed',
    ]);
    await cb.encryption.encryptExisting();
    const { rows } = await owner.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".chat_messages where user_id = $1 and search_tokens is not null`,
      [userId],
    );
    expect(rows[0]?.n).toBe(2);
    const refusing = createCarebase({
      connectionString: database.url,
      schema,
      pool: { max: 2 },
      encryption: { keyring, plaintextReads: 'refuse' },
    });
    others.push(refusing);
    const page = await refusing.chat.search({ userId, query: 'atorvastatin' });
    expect(page.items.map((hit) => hit.message.content).sort()).toEqual([
      'atorvastatin written in clear',
      'atorvastatin written sealed',
    ]);
  });

  it('indexes the legacy JSON import', async () => {
    const userId = await user();
    const { rows } = await owner.query<{ username: string }>(
      `select username from "${schema}".users where id = $1`,
      [userId],
    );
    await cb.chat.importLegacyJson({
      [(rows[0] as { username: string }).username]: [{ role: 'user', content: 'imported simvastatin' }],
    });
    expect(await found(userId, 'simvastatin')).toEqual(['imported simvastatin']);
  });
});
