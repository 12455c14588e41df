import type { Readable } from 'node:stream';
import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Both CSV exports follow the same rules (src/sql/csv.ts): RFC 4180 with CRLF record ends, quotes
 * doubled, a field quoted when it holds `"`, `,`, CR or LF, and `null` written as an empty unquoted
 * field while an empty string is `""`.
 */
interface Field {
  readonly text: string;
  readonly quoted: boolean;
}

/** A strict RFC 4180 reader: throws on a bare CR or LF outside quotes or a stray quote. */
function readCsv(text: string): Field[][] {
  const records: Field[][] = [];
  let record: Field[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else value += text[i++];
      }
    } else {
      while (i < text.length && !/[,\r\n"]/.test(text[i] as string)) value += text[i++];
      if (text[i] === '"') throw new Error(`stray quote at ${i}`);
    }
    record.push({ text: value, quoted });
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text.startsWith('\r\n', i)) {
      records.push(record);
      record = [];
      i += 2;
      if (i === text.length) return records;
      continue;
    }
    throw new Error(`expected a comma or CRLF at ${i}, found ${JSON.stringify(text.slice(i, i + 1))}`);
  }
}

async function drain(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

let database: TestDatabase;
let cb: Carebase;
let userId: string;
const awkward = 'say "hi", then\r\nleave\nnow';

beforeAll(async () => {
  database = await createTestDatabase();
  cb = createCarebase({ connectionString: database.url, users: { bcryptCost: 10 } });
  const user = await cb.users.create({
    username: 'csv',
    email: 'csv@example.org',
    password: 'correct horse battery',
    role: 'nurse',
  });
  userId = user.id;
});

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

describe('CSV exports', () => {
  it('chat: CRLF records, quoting, null as an empty unquoted field', async () => {
    await cb.chat.append({ userId, role: 'user', content: awkward, metadata: { note: 'a,b' } });
    await cb.chat.append({ userId, role: 'assistant', content: 'plain' });
    const records = readCsv(await drain(cb.chat.export({ userId, format: 'csv' })));
    const header = records[0]?.map((field) => field.text) ?? [];
    expect(header).toEqual([
      'format_version',
      'conversation_id',
      'id',
      'client_id',
      'created_at',
      'role',
      'content',
      'metadata',
      'parts',
    ]);
    const column = (name: string) => header.indexOf(name);
    const [first, second] = records.slice(1);
    expect(first?.[column('content')]).toEqual({ text: awkward, quoted: true });
    expect(JSON.parse(first?.[column('metadata')]?.text ?? '')).toEqual({ note: 'a,b' });
    expect(second?.[column('content')]).toEqual({ text: 'plain', quoted: false });
    expect(second?.[column('client_id')]).toEqual({ text: '', quoted: false });
    expect(second?.[column('metadata')]).toEqual({ text: '', quoted: false });
  });

  it('audit: CRLF records, quoting, an empty string apart from null', async () => {
    const from = new Date(Date.now() - 1000);
    await cb.audit.log({
      action: 'chart.view',
      resourceType: 'chart',
      outcomeDetail: '',
      userAgent: awkward,
      changes: { field: 'x,"y"' },
    });
    const records = readCsv(
      await drain(cb.audit.export({ from, to: new Date(Date.now() + 1000), format: 'csv' })),
    );
    const header = records[0]?.map((field) => field.text) ?? [];
    const entry = records.slice(1).find((record) => record[header.indexOf('action')]?.text === 'chart.view');
    expect(entry?.[header.indexOf('userAgent')]).toEqual({ text: awkward, quoted: true });
    expect(entry?.[header.indexOf('outcomeDetail')]).toEqual({ text: '', quoted: true });
    expect(entry?.[header.indexOf('resourceId')]).toEqual({ text: '', quoted: false });
    expect(JSON.parse(entry?.[header.indexOf('changes')]?.text ?? '')).toEqual({ field: 'x,"y"' });
    expect(entry?.[header.indexOf('occurredAt')]?.text).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
    );
  });
});
