import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCarebase } from 'carebase';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { benchDatabase, duration, throughput } from './harness.ts';

/**
 * Imports: `cb.imports.messages` (validation, binary COPY into a staging table, INSERT ... ON
 * CONFLICT with conversation lookup, last_message_at, audit entry; one transaction per batch of
 * 100k) vs a raw binary COPY of the same rows, same columns, into the same table (truncated before
 * every run of either side). `BENCH_IMPORT_MESSAGES` sets the total (default 1,000,000),
 * `BENCH_IMPORT_RUNS` the runs per side (default 1). Then a legacy-hash login (SHA-256 verified,
 * replaced by bcrypt in the same transaction) vs a normal login at the same bcrypt cost (both
 * carebase: the "raw" column is the normal login).
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const total = Number(process.env.BENCH_IMPORT_MESSAGES ?? 1_000_000);
  const runs = Number(process.env.BENCH_IMPORT_RUNS ?? 1);
  const batch = 100_000;
  const cb = createCarebase({
    connectionString: database.url,
    pool: { max: 4, statementTimeoutMs: 0 },
    users: { bcryptCost: 10, lockout: { maxFailures: 100 } },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => undefined);
  try {
    await cb.migrate();
    await cb.imports.users({
      source: 'bench',
      users: Array.from({ length: 100 }, (_, i) => ({
        externalId: `u${i}`,
        username: `bench_user_${i}`,
        email: `bench${i}@example.org`,
        role: 'nurse',
      })),
    });
    await cb.imports.conversations({
      source: 'bench',
      conversations: Array.from({ length: 1000 }, (_, i) => ({
        externalId: `c${i}`,
        userExternalId: `u${i % 100}`,
      })),
    });
    const conversations = await cb.db
      .selectFrom('conversations')
      .select(['id', 'user_id', 'external_id'])
      .where('import_source', '=', 'bench')
      .execute();
    const byExternal = new Map(conversations.map((c) => [c.external_id ?? '', c]));
    const words = [
      'insulin',
      'dose',
      'patient',
      'ward',
      'handover',
      'pressure',
      'wound',
      'saline',
      'fever',
      'night',
    ];
    const start = Date.parse('2024-01-01T00:00:00Z');
    const messages = Array.from({ length: total }, (_, i) => ({
      externalId: `m${i}`,
      conversationExternalId: `c${i % 1000}`,
      role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: `Message ${i}: ${Array.from({ length: 24 }, (_, w) => words[(i * 7 + w * 3) % words.length]).join(' ')}.`,
      createdAt: new Date(start + i * 1000),
    }));

    const englishOid = Number(
      (await pool.query<{ oid: string }>("select 'english'::regconfig::oid as oid")).rows[0]?.oid,
    );
    const writeText = (buffer: Buffer, at: number, value: string): number => {
      const length = buffer.write(value, at + 4, 'utf8');
      buffer.writeInt32BE(length, at);
      return at + 4 + length;
    };
    const uuid = (buffer: Buffer, at: number, value: string): number => {
      buffer.writeInt32BE(16, at);
      buffer.write(value.replaceAll('-', ''), at + 4, 'hex');
      return at + 20;
    };
    function* rawRows(): Generator<Buffer> {
      yield Buffer.from([
        0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      ]);
      for (let from = 0; from < messages.length; from += 5000) {
        const buffer = Buffer.allocUnsafe(5000 * 600);
        let at = 0;
        for (const m of messages.slice(from, from + 5000)) {
          const c = byExternal.get(m.conversationExternalId);
          buffer.writeInt16BE(8, at);
          at = uuid(buffer, at + 2, c?.user_id ?? '');
          at = uuid(buffer, at, c?.id ?? '');
          at = writeText(buffer, at, m.role);
          at = writeText(buffer, at, m.content);
          buffer.writeInt32BE(4, at); // regconfig: its oid
          buffer.writeUInt32BE(englishOid, at + 4);
          at += 8;
          const micros = BigInt(m.createdAt.getTime() - Date.UTC(2000, 0, 1)) * 1000n;
          buffer.writeInt32BE(8, at);
          buffer.writeBigInt64BE(micros, at + 4);
          at += 12;
          at = writeText(buffer, at, 'bench');
          at = writeText(buffer, at, m.externalId);
        }
        yield buffer.subarray(0, at);
      }
      yield Buffer.from([0xff, 0xff]);
    }

    await duration({
      name: `import ${total.toLocaleString('en-US')} messages with times and external ids (batches of 100k) vs raw binary COPY`,
      runs: runs * 2,
      beforeEach: () =>
        pool
          .query('delete from carebase.chat_messages; vacuum carebase.chat_messages')
          .catch(() => pool.query('delete from carebase.chat_messages')),
      carebase: async () => {
        for (let from = 0; from < messages.length; from += batch) {
          const report = await cb.imports.messages({
            source: 'bench',
            messages: messages.slice(from, from + batch),
          });
          if (report.inserted !== Math.min(batch, messages.length - from)) throw new Error('import short');
        }
      },
      raw: async () => {
        const client = await pool.connect();
        try {
          const stream = client.query(
            copyFrom(
              'COPY carebase.chat_messages (user_id, conversation_id, role, content, language, created_at, import_source, external_id) FROM STDIN (FORMAT binary)',
            ),
          );
          await pipeline(Readable.from(rawRows()), stream);
        } finally {
          client.release();
        }
      },
    });

    // --- logins: a legacy SHA-256 account (verify + rehash to bcrypt) vs a bcrypt account ---
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    await cb.imports.users({
      source: 'bench-legacy',
      users: Array.from({ length: 400 }, (_, i) => ({
        externalId: `l${i}`,
        username: `legacy_${i}`,
        email: `legacy${i}@example.org`,
        role: 'nurse',
        passwordHash: { algorithm: 'sha256' as const, hash: sha(`pw-${i}`) },
      })),
    });
    await cb.users.create({
      username: 'modern',
      email: 'modern@example.org',
      role: 'nurse',
      password: 'staple battery horse correct',
    });
    let next = 0;
    await throughput(
      {
        name: 'login: legacy SHA-256 hash (verify + bcrypt rehash, same transaction) vs bcrypt login, cost 10',
        concurrency: 1,
        carebase: async () => {
          const i = next++;
          if (i >= 400) throw new Error('out of legacy accounts: lower BENCH_ROUNDS');
          const result = await cb.users.authenticate({ login: `legacy_${i}`, password: `pw-${i}` });
          if (!result.ok) throw new Error('legacy login failed');
        },
        raw: async () => {
          const result = await cb.users.authenticate({
            login: 'modern',
            password: 'staple battery horse correct',
          });
          if (!result.ok) throw new Error('login failed');
        },
      },
      { rounds: 4, roundMs: 1500 },
    );
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
