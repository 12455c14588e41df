import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from 'carebase';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, built, carebase } from '../cli/bin.js';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;
const dir = mkdtempSync(join(tmpdir(), 'carebase-chat-import-'));

beforeAll(async () => {
  f = await chatFixture();
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await f?.close();
});

async function messageCount(): Promise<number> {
  const row = await f.cb.db
    .selectFrom('chat_messages')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return row.n;
}

describe('cb.chat.importLegacyJson', () => {
  it('imports the legacy file idempotently: twice gives the same counts and adds nothing', async () => {
    await f.user('nurse_joy');
    const legacy = {
      Nurse_Joy: [
        { role: 'user', content: 'How do I flush a PICC line?' },
        { role: 'assistant', content: 'Use 10 mL saline with a push-pause technique.' },
        { role: 'user', content: 'How do I flush a PICC line?' }, // same text again, a new message
      ],
      ghost: [{ role: 'user', content: 'nobody home' }],
    };
    const progress: number[] = [];
    const first = await f.cb.chat.importLegacyJson(legacy, {
      onProgress: (p) => progress.push(p.messagesDone),
    });
    expect(first).toEqual({
      users: 2,
      usersCreated: 0,
      usersMissing: ['ghost'],
      read: 4,
      messages: 3,
      inserted: 3,
      alreadyPresent: 0,
      refused: 1,
      repaired: 0,
    });
    expect(progress.at(-1)).toBe(3);
    const second = await f.cb.chat.importLegacyJson(legacy);
    expect(second).toEqual({ ...first, inserted: 0, alreadyPresent: 3 });
    expect(await messageCount()).toBe(3);
    const userId = (
      await f.cb.db
        .selectFrom('users')
        .select('id')
        .where('username', '=', 'nurse_joy')
        .executeTakeFirstOrThrow()
    ).id;
    const history = await f.cb.chat.history({ userId });
    expect(history.items.map((m) => m.content)).toEqual(legacy.Nurse_Joy.map((m) => m.content));
    const audit = await f.cb.db
      .selectFrom('audit_log')
      .select(['action', 'metadata'])
      .where('action', '=', 'chat.import')
      .where('resource_id', '=', userId)
      .orderBy('id')
      .execute();
    expect(audit.map((row) => row.metadata)).toEqual([
      { messages: 3, inserted: 3 },
      { messages: 3, inserted: 0 },
    ]);
    expect(JSON.stringify(audit)).not.toContain('PICC');
  });

  it('creates missing users (disabled, unusable password) when asked, from a file path', async () => {
    const path = join(dir, 'chat.json');
    writeFileSync(
      path,
      JSON.stringify({ newbie: [{ role: 'user', content: 'hi', timestamp: '2024-01-01' }] }),
    );
    const result = await f.cb.chat.importLegacyJson(path, { createMissingUsers: true, role: 'viewer' });
    expect(result).toMatchObject({ usersCreated: 1, inserted: 1, usersMissing: [] });
    const user = await f.cb.db
      .selectFrom('users')
      .select(['status', 'role', 'password_hash', 'email'])
      .where('username', '=', 'newbie')
      .executeTakeFirstOrThrow();
    expect(user.status).toBe('disabled');
    expect(user.role).toBe('viewer');
    expect(user.password_hash.startsWith('!')).toBe(true);
    expect(user.email.endsWith('@imported.invalid')).toBe(true);
    const again = await f.cb.chat.importLegacyJson(path, { createMissingUsers: true });
    expect(again).toMatchObject({ usersCreated: 0, inserted: 0, alreadyPresent: 1 });
  });

  it('refuses a malformed file before writing anything, naming the entry', async () => {
    await f.user('strict_user');
    const before = await messageCount();
    const error = await f.cb.chat
      .importLegacyJson({
        strict_user: [
          { role: 'user', content: 'ok' },
          { role: 'bot', content: 'x' },
        ],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('strict_user.1.role');
    const nul = await f.cb.chat
      .importLegacyJson({ strict_user: [{ role: 'user', content: 'a\u0000b' }] })
      .catch((e: unknown) => e);
    expect((nul as ValidationError).field).toBe('strict_user.0.content');
    expect((nul as ValidationError).message).toContain('strict_user[0].content');
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ not json');
    await expect(f.cb.chat.importLegacyJson(path)).rejects.toBeInstanceOf(ValidationError);
    expect(await messageCount()).toBe(before);
  });
});

describe('cb.chat.importLegacyJson: the whole file checked first, repairs, timestamps, case', () => {
  it('reports every problem with its full path before writing anything, up to maxProblems', async () => {
    await f.user('bob_legacy');
    const before = await messageCount();
    const bob = Array.from({ length: 3000 }, (_, i) => ({ role: 'user', content: `ok ${i}` })) as unknown[];
    bob[5] = { role: 'user', content: 'a\u0000b' };
    bob[2414] = { role: 'user', content: 'x'.repeat(100_001) };
    bob[2415] = { role: 'robot', content: 'x', timestamp: 'not a time' };
    bob[2416] = 'just text';
    const error = (await f.cb.chat
      .importLegacyJson({ bob_legacy: bob, alice_l: [], Alice_L: [] })
      .catch((e: unknown) => e)) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    const paths = error.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual([
      'bob_legacy.5.content',
      'bob_legacy.2414.content',
      'bob_legacy.2415.role',
      'bob_legacy.2415.timestamp',
      'bob_legacy.2416',
      'Alice_L',
    ]);
    expect(error.message).toContain('6 problems');
    expect(error.message).toContain('bob_legacy[5].content');
    expect(error.message).not.toContain('xxxx');
    expect(await messageCount()).toBe(before);
    const limited = (await f.cb.chat
      .importLegacyJson({ bob_legacy: bob }, { maxProblems: 2 })
      .catch((e: unknown) => e)) as ValidationError;
    expect(limited.issues).toHaveLength(2);
    expect(limited.message).toContain('2+ problems');
  });

  it('escapes NUL when asked (noted in metadata), keeps timestamps, merges case variants when asked', async () => {
    const userId = await f.user('tina_legacy');
    const file = {
      tina_legacy: [
        { role: 'user', content: 'first\u0000second', timestamp: '2023-04-05T06:07:08.123456' },
        { role: 'assistant', content: 'answer', timestamp: '2023-04-05T06:07:09+02:00' },
        { role: 'user', content: 'epoch', timestamp: 1_700_000_000 },
      ],
      TINA_legacy: [{ role: 'user', content: 'from the other spelling', timestamp: '2024-01-01' }],
    };
    const refused = await f.cb.chat.importLegacyJson(file, { nul: 'escape' }).catch((e: unknown) => e);
    expect((refused as ValidationError).issues.map((issue) => issue.path.join('.'))).toEqual(['TINA_legacy']);
    const result = await f.cb.chat.importLegacyJson(file, { nul: 'escape', caseCollisions: 'merge' });
    expect(result).toMatchObject({ read: 4, inserted: 4, repaired: 1, refused: 0 });
    const { items } = await f.cb.chat.history({ userId });
    expect(items.map((m) => [m.content, m.createdAt.toISOString(), m.metadata])).toEqual([
      ['answer', '2023-04-05T04:07:09.000Z', null],
      ['first\\u0000second', '2023-04-05T06:07:08.123Z', { legacyImport: { nulEscaped: 1 } }],
      ['epoch', '2023-11-14T22:13:20.000Z', null],
      ['from the other spelling', '2024-01-01T00:00:00.000Z', null],
    ]);
    const again = await f.cb.chat.importLegacyJson(file, { nul: 'escape', caseCollisions: 'merge' });
    expect(again).toMatchObject({ inserted: 0, alreadyPresent: 4 });
  });

  it('refuses usernames carebase cannot create, by path, when creating missing users', async () => {
    const error = (await f.cb.chat
      .importLegacyJson({ 'has space': [{ role: 'user', content: 'x' }] }, { createMissingUsers: true })
      .catch((e: unknown) => e)) as ValidationError;
    expect(error.issues.map((issue) => issue.path)).toEqual([['has space']]);
  });
});

describe.skipIf(!built)('carebase import chat-json (the built bin)', { timeout: 120_000 }, () => {
  it('imports a file, quiet without a TTY, reports counts; a re-run adds nothing and exits 0', async () => {
    await f.user('cli_user');
    const path = join(dir, 'cli.json');
    writeFileSync(
      path,
      JSON.stringify({
        cli_user: Array.from({ length: 25 }, (_, i) => ({ role: 'user', content: `m${i}` })),
      }),
    );
    const env = { ...baseEnv(), DATABASE_URL: f.database.url };
    const first = await carebase(['import', 'chat-json', path, '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, inserted: 25, alreadyPresent: 0 });
    expect(first.stderr).toBe('');
    const again = await carebase(['import', 'chat-json', path], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('imported 0 messages (25 already present)');
    expect(again.stderr).toBe('');
  });

  it('exits 1 when nothing (or not everything) was imported, saying why', async () => {
    const env = { ...baseEnv(), DATABASE_URL: f.database.url };
    const missing = join(dir, 'missing.json');
    writeFileSync(missing, JSON.stringify({ nobody_here: [{ role: 'user', content: 'x' }] }));
    const run = await carebase(['import', 'chat-json', missing], { env });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'not imported: the messages of 1 user not found (use --create-missing-users): nobody_here',
    );
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '{}');
    const none = await carebase(['import', 'chat-json', empty, '--json'], { env });
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, inserted: 0 });
  });

  it('exits 2 on bad usage and 1 on a failure, without printing content', async () => {
    const env = { ...baseEnv(), DATABASE_URL: f.database.url };
    expect((await carebase(['import', 'chat-json'], { env })).code).toBe(2);
    expect((await carebase(['import', '--bogus'], { env })).code).toBe(2);
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ cli_user: [{ role: 'user', content: 'secret\u0000' }] }));
    const run = await carebase(['import', 'chat-json', path, '--json'], { env });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
      problems: [{ path: 'cli_user[0].content' }],
    });
    expect(run.stdout + run.stderr).not.toContain('secret');
    const text = await carebase(['import', 'chat-json', path], { env });
    expect(text.code).toBe(1);
    expect(text.stdout + text.stderr).toContain('cli_user[0].content');
    const escaped = await carebase(['import', 'chat-json', path, '--nul', 'escape'], { env });
    expect(escaped.code, escaped.stderr).toBe(0);
    expect(escaped.stdout).toMatch(/repaired \(noted in metadata\)\s+1/);
  });
});
