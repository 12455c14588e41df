import { type Carebase, createCarebase, ValidationError } from 'carebase';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * One cursor contract for every keyset listing (src/sql/cursor.ts): a walk visits every row once;
 * a garbled, oversized or foreign cursor (another listing's, or another order's) is refused with a
 * `ValidationError` naming `cursor`, before any SQL; cursors issued before the shared codec keep
 * working for a release.
 */
interface Page {
  readonly ids: string[];
  readonly nextCursor: string | undefined;
}

interface Listing {
  readonly name: string;
  /** The ids of every row, in listing order. */
  all(): Promise<string[]>;
  page(limit: number, cursor: string | undefined): Promise<Page>;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const exact = (column: string) =>
  sql.raw<string>(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

let database: TestDatabase;
let cb: Carebase;
let userId: string;
const listings: Listing[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  cb = createCarebase({ connectionString: database.url, users: { bcryptCost: 10 } });
  const users = [];
  for (let i = 0; i < 5; i++) {
    users.push(
      await cb.users.create({
        username: `cursor${i}`,
        email: `cursor${i}@example.org`,
        password: 'correct horse battery',
        role: 'nurse',
      }),
    );
  }
  userId = users[0]?.id as string;
  for (let i = 0; i < 5; i++) await cb.sessions.create({ userId });
  for (let i = 0; i < 5; i++) await cb.chat.append({ userId, role: 'user', content: `needle number ${i}` });
  for (let i = 0; i < 5; i++) await cb.chat.createConversation({ userId, title: `c${i}` });
  for (let i = 0; i < 5; i++) await cb.audit.log({ action: 'cursor.test', resourceType: 'test' });

  const walk = async (listing: Omit<Listing, 'all'>): Promise<string[]> => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listing.page(100, cursor);
      ids.push(...page.ids);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return ids;
  };
  const add = (listing: Omit<Listing, 'all'>) => listings.push({ ...listing, all: () => walk(listing) });
  add({
    name: 'users.list',
    page: async (limit, cursor) => {
      const page = await cb.users.list({ limit, ...(cursor === undefined ? {} : { cursor }) });
      return { ids: page.items.map((user) => user.id), nextCursor: page.nextCursor };
    },
  });
  add({
    name: 'sessions.listForUser',
    page: async (limit, cursor) => {
      const page = await cb.sessions.listForUser(userId, {
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return { ids: page.items.map((session) => session.id), nextCursor: page.nextCursor };
    },
  });
  for (const order of ['asc', 'desc'] as const) {
    add({
      name: `chat.history ${order}`,
      page: async (limit, cursor) => {
        const page = await cb.chat.history({
          userId,
          order,
          limit,
          ...(cursor === undefined ? {} : { cursor }),
        });
        return { ids: page.items.map((message) => message.id), nextCursor: page.nextCursor };
      },
    });
  }
  add({
    name: 'chat.listConversations',
    page: async (limit, cursor) => {
      const page = await cb.chat.listConversations({
        userId,
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return { ids: page.items.map((conversation) => conversation.id), nextCursor: page.nextCursor };
    },
  });
  add({
    name: 'chat.search',
    page: async (limit, cursor) => {
      const page = await cb.chat.search({
        userId,
        query: 'needle',
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return { ids: page.items.map((hit) => hit.message.id), nextCursor: page.nextCursor };
    },
  });
  add({
    name: 'audit.query',
    page: async (limit, cursor) => {
      const page = await cb.audit.query({
        action: 'cursor.test',
        limit,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return { ids: page.items.map((entry) => entry.id), nextCursor: page.nextCursor };
    },
  });
});

afterAll(async () => {
  await cb?.close();
  await database?.drop();
});

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('keyset cursors', () => {
  it('walk every listing two rows at a time, each row once', async () => {
    for (const listing of listings) {
      const all = await listing.all();
      expect(all.length, listing.name).toBeGreaterThanOrEqual(5);
      const seen: string[] = [];
      let page = await listing.page(2, undefined);
      seen.push(...page.ids);
      while (page.nextCursor !== undefined) {
        page = await listing.page(2, page.nextCursor);
        seen.push(...page.ids);
      }
      expect(seen, listing.name).toEqual(all);
    }
  });

  it('refuse garbled and oversized cursors with a ValidationError naming cursor', async () => {
    // A well-formed users cursor with a character outside base64url inside (Node's decoder would skip it).
    const valid = encode([1, 'users', '2026-01-01T00:00:00.000000Z', '00000000-0000-0000-0000-000000000000']);
    const garbled = [
      `${valid.slice(0, 10)}!${valid.slice(10)}`,
      'garbage',
      '!!!!',
      encode([1, 'users']),
      encode({ key: 'x', id: '1' }),
      encode([2, 'users', '2026-01-01T00:00:00.000000Z', '00000000-0000-0000-0000-000000000000']),
      'A'.repeat(2000),
      `${encode([1, 'users', '2026-01-01T00:00:00.000000Z', '00000000-0000-0000-0000-000000000000'])}${' '.repeat(600)}`,
    ];
    for (const listing of listings) {
      for (const cursor of garbled) {
        const error = await refusal(listing.page(2, cursor));
        expect(error.field, `${listing.name} ${cursor.slice(0, 20)}`).toBe('cursor');
      }
    }
  });

  it('refuse a cursor issued by another listing', async () => {
    const cursors = new Map<string, string>();
    for (const listing of listings) {
      const page = await listing.page(1, undefined);
      cursors.set(listing.name, page.nextCursor as string);
    }
    for (const listing of listings) {
      for (const [issuer, cursor] of cursors) {
        if (issuer === listing.name) continue;
        const error = await refusal(listing.page(2, cursor));
        expect(error.field, `${issuer} cursor on ${listing.name}`).toBe('cursor');
      }
    }
  });

  it('keep decoding the cursors issued before the shared codec', async () => {
    // users.list and sessions.listForUser: [created_at::text, id]; audit.query: [exact UTC time, id].
    const users = await cb.db
      .selectFrom('users')
      .select(['id', sql<string>`created_at::text`.as('at')])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const usersListing = listings.find((listing) => listing.name === 'users.list') as Listing;
    const afterTwo = encode([users[1]?.at, users[1]?.id]);
    expect((await usersListing.page(100, afterTwo)).ids).toEqual(users.slice(2).map((user) => user.id));

    const sessions = await cb.db
      .selectFrom('sessions')
      .select(['id', sql<string>`created_at::text`.as('at')])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    const sessionsListing = listings.find((listing) => listing.name === 'sessions.listForUser') as Listing;
    const afterOne = encode([sessions[0]?.at, sessions[0]?.id]);
    expect((await sessionsListing.page(100, afterOne)).ids).toEqual(sessions.slice(1).map((s) => s.id));

    const entries = await cb.db
      .selectFrom('audit_log')
      .select(['id', exact('occurred_at').as('at')])
      .where('action', '=', 'cursor.test')
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    const auditListing = listings.find((listing) => listing.name === 'audit.query') as Listing;
    const afterThree = encode([entries[2]?.at, entries[2]?.id]);
    expect((await auditListing.page(100, afterThree)).ids).toEqual(entries.slice(3).map((e) => e.id));

    // chat's cursors were already versioned and kind-tagged: [1, kind, exact time, id].
    const messages = await cb.db
      .selectFrom('chat_messages')
      .select(['id', exact('created_at').as('at')])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const historyListing = listings.find((listing) => listing.name === 'chat.history asc') as Listing;
    const chatCursor = encode([1, 'history-asc', messages[0]?.at, messages[0]?.id]);
    expect((await historyListing.page(100, chatCursor)).ids).toEqual(messages.slice(1).map((m) => m.id));
  });
});
