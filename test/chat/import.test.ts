import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ValidationError } from 'carebase';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importChatCommand } from '../../src/cli/commands/import-chat.js';
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

function sink(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      stream.text += String(chunk);
      callback();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
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

describe('carebase import chat-json', () => {
  it('imports a file, quiet without a TTY, and reports counts', async () => {
    await f.user('cli_user');
    const path = join(dir, 'cli.json');
    writeFileSync(
      path,
      JSON.stringify({
        cli_user: Array.from({ length: 25 }, (_, i) => ({ role: 'user', content: `m${i}` })),
      }),
    );
    const env = { DATABASE_URL: f.database.url };
    const out = sink();
    const err = sink();
    expect(
      await importChatCommand(['chat-json', path, '--json'], { stdout: out, stderr: err, isTTY: false, env }),
    ).toBe(0);
    expect(JSON.parse(out.text)).toMatchObject({ inserted: 25, alreadyPresent: 0 });
    expect(err.text).toBe('');
    const out2 = sink();
    const tty = sink();
    expect(
      await importChatCommand(['chat-json', path], { stdout: out2, stderr: tty, isTTY: true, env }),
    ).toBe(0);
    expect(out2.text).toContain('imported 0 messages (25 already present)');
    expect(tty.text).toContain('100% 25/25 messages');
  });

  it('exits 2 on bad usage and 1 on a failure, without printing content', async () => {
    const env = { DATABASE_URL: f.database.url };
    expect(
      await importChatCommand(['chat-json'], { stdout: sink(), stderr: sink(), isTTY: false, env }),
    ).toBe(2);
    expect(await importChatCommand(['--bogus'], { stdout: sink(), stderr: sink(), isTTY: false, env })).toBe(
      2,
    );
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ cli_user: [{ role: 'user', content: 'secret\u0000' }] }));
    const err = sink();
    expect(
      await importChatCommand(['chat-json', path], { stdout: sink(), stderr: err, isTTY: false, env }),
    ).toBe(1);
    expect(err.text).toContain('VALIDATION_FAILED');
    expect(err.text).not.toContain('secret');
  });
});
