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
      messages: 3,
      inserted: 3,
      alreadyPresent: 0,
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
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ not json');
    await expect(f.cb.chat.importLegacyJson(path)).rejects.toBeInstanceOf(ValidationError);
    expect(await messageCount()).toBe(before);
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
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(run.stdout + run.stderr).not.toContain('secret');
  });
});
