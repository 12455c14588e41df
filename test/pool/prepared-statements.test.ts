import { type Carebase, createCarebase } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The hot paths of every repository run as named prepared statements from the instance's one
 * prepared-statement cache (src/pool/prepared-statements.ts). With one pooled connection, the
 * server's pg_prepared_statements of that connection lists what carebase prepared on it.
 */
let database: TestDatabase;
let cb: Carebase;

async function prepared(): Promise<string[]> {
  const { rows } = await sql<{ statement: string }>`
    select statement from pg_prepared_statements where name like 'carebase\\_%' order by statement`.execute(
    cb.db,
  );
  return rows.map((row) => row.statement.replace(/\s+/g, ' '));
}

beforeAll(async () => {
  database = await createTestDatabase();
  cb = createCarebase({
    connectionString: database.url,
    pool: { min: 0, max: 1 },
    users: { bcryptCost: 10 },
    audit: { sealAfterWrite: true },
  });
});

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

describe('prepared statements', () => {
  it('every repository hot path runs as a named statement, prepared once per connection', async () => {
    // First outside a transaction: the month's audit partition becomes known, so writes inside a
    // transaction need no lookup on another connection (the pool has only one).
    await cb.audit.log({ action: 'chart.view', resourceType: 'chart' });
    const user = await cb.users.create({
      username: 'prepared',
      email: 'prepared@example.org',
      password: 'correct horse battery',
      role: 'nurse',
    });
    const { token } = await cb.sessions.create({ userId: user.id });
    for (let i = 0; i < 3; i++) await cb.sessions.validate(token);
    await cb.chat.append({ userId: user.id, role: 'user', content: 'prepared statements' });
    const page = await cb.chat.history({ userId: user.id });
    // The page statement returns array rows (mapped by carebase), inside a transaction too.
    const inside = await cb.transaction((tx) => tx.chat.history({ userId: user.id }));
    expect(inside).toEqual(page);
    expect(
      page.items.map((m) => [m.role, m.content, m.userId, m.authorUserId, m.pinned, m.parentId]),
    ).toEqual([['user', 'prepared statements', user.id, user.id, false, null]]);
    expect(page.items[0]?.createdAt).toBeInstanceOf(Date);
    await cb.chat.search({ userId: user.id, query: 'prepared' });
    await cb.analytics.track({ userId: user.id, eventType: 'feature', eventName: 'prepared.one' });
    await cb.transaction((tx) => tx.audit.log({ action: 'chart.view', resourceType: 'chart' }));
    await cb.audit.seal();

    const statements = await prepared();
    const has = (fragment: string) => statements.filter((text) => text.includes(fragment)).length;
    expect(has('"sessions" as "s" inner join "carebase"."users"')).toBe(1); // sessions.validate
    expect(has('insert into "carebase"."chat_messages"')).toBe(1); // chat.append
    expect(has('websearch_to_tsquery')).toBe(1); // chat.search
    expect(has('row_number() over (order by created_at asc, id asc)')).toBe(1); // chat.history
    expect(has('insert into "carebase"."analytics_events"')).toBe(1); // analytics.track
    expect(has('audit_seal()')).toBeGreaterThanOrEqual(2); // group insert-and-seal, background seal
    expect(has('$12, $13::jsonb, $14::jsonb, $15, $16')).toBe(1); // audit in a transaction
    expect(statements.length).toBe(new Set(statements).size);
  });

  it('an instance on another schema prepares its own texts', async () => {
    const other = await createTestDatabase({ schema: 'clinic' });
    const second = createCarebase({ connectionString: other.url, schema: 'clinic', pool: { max: 1 } });
    try {
      await second.audit.log({ action: 'chart.view', resourceType: 'chart' });
      const { rows } = await sql<{ statement: string }>`
        select statement from pg_prepared_statements where name like 'carebase\\_%'`.execute(second.db);
      expect(rows.some((row) => row.statement.includes('"clinic".audit_log'))).toBe(true);
      expect(rows.some((row) => row.statement.includes('"carebase"'))).toBe(false);
    } finally {
      await second.close();
      await other.drop();
    }
  });
});
