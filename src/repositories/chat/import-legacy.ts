import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { z } from 'zod';
import type { ValidationIssue } from '../../errors/errors.js';
import { AbortError, CarebaseError, ValidationError } from '../../errors/errors.js';
import { validationError } from '../../errors/validation.js';
import { parseInput } from '../../validation/parse-input.js';
import { recordAudit } from '../audit/record.js';
import type { RepositoryContext } from '../context.js';
import { ChatContentSchema, ChatRoleSchema } from './chat-inputs.js';
import { checkLegacyFile, legacyPath } from './legacy-file-check.js';
import { defaultConversation, insertLegacyRows, type LegacyRow } from './legacy-insert.js';

/**
 * The seed app's chat file: `{ "<username>": [{ "role", "content" }, ...] }`. Extra fields on a
 * message (e.g. a `timestamp`) are ignored.
 *
 * @example
 * ```ts
 * import { LegacyChatFileSchema } from 'carebase/schemas';
 * LegacyChatFileSchema.parse({ alice: [{ role: 'user', content: 'hi' }] });
 * ```
 */
export const LegacyChatFileSchema = z
  .custom<Record<string, unknown>>(
    // A record would silently drop (or misread) these keys instead of refusing them.
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      !['__proto__', 'constructor', 'prototype'].some((key) => Object.hasOwn(value, key)),
    'must be an object of usernames (no __proto__, constructor or prototype key)',
  )
  .pipe(
    z.record(
      z.string().min(1).max(64),
      z.array(z.looseObject({ role: ChatRoleSchema, content: ChatContentSchema })),
    ),
  );
/**
 * The legacy chat file as a caller passes it: an object of usernames, each with an array of
 * `{ role, content }` messages (checked by `LegacyChatFileSchema` when imported).
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import type { LegacyChatFile } from 'carebase';
 * const file: LegacyChatFile = JSON.parse(await readFile('chat_history.json', 'utf8'));
 * const result = await cb.chat.importLegacyJson(file, { createMissingUsers: true });
 * ```
 */
export type LegacyChatFile = Record<string, unknown>;

/**
 * Progress of an import, reported after each batch.
 *
 * @example
 * ```ts
 * import type { ChatImportProgress } from 'carebase';
 * const onProgress = (p: ChatImportProgress): void => {
 *   process.stdout.write(
 *     `\r${p.usersDone}/${p.usersTotal} users, ${p.messagesDone}/${p.messagesTotal} messages`,
 *   );
 * };
 * await cb.chat.importLegacyJson('./data/chat_history.json', { onProgress });
 * ```
 */
export interface ChatImportProgress {
  readonly usersDone: number;
  readonly usersTotal: number;
  readonly messagesDone: number;
  readonly messagesTotal: number;
}

/**
 * Options of `cb.chat.importLegacyJson()`.
 *
 * @example
 * ```ts
 * await cb.chat.importLegacyJson('./data/chat_history.json', {
 *   createMissingUsers: true,
 *   onProgress: (p) => console.log(`${p.messagesDone} messages imported`),
 * });
 * ```
 */
export const ChatImportOptionsSchema = z.strictObject({
  /** Create users missing from the database (disabled, with an unusable password). @default false */
  createMissingUsers: z.boolean().optional(),
  /** Role of users created by `createMissingUsers`. @default 'nurse' */
  role: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/)
    .optional(),
  /** Called after each batch. */
  onProgress: z
    .custom<(progress: ChatImportProgress) => void>((value) => typeof value === 'function')
    .optional(),
  /** Messages per statement. @default 1000 */
  batchSize: z.number().int().min(1).max(10_000).optional(),
  /** Stops between batches (already imported batches stay; a re-run continues). */
  signal: z.custom<AbortSignal>((value) => value instanceof AbortSignal).optional(),
  /**
   * Content with NUL characters (which PostgreSQL text cannot hold): `refuse` reports each as a
   * problem; `escape` stores each NUL as the six characters `\u0000` and records the count in the
   * message's metadata (`legacyImport.nulEscaped`). @default 'refuse'
   */
  nul: z.enum(['refuse', 'escape']).optional(),
  /**
   * Usernames that differ only in case (`alice` and `Alice`): `refuse` reports them as problems;
   * `merge` imports both into the one account. @default 'refuse'
   */
  caseCollisions: z.enum(['refuse', 'merge']).optional(),
  /** At most this many problems are listed (all are counted). @default 1000 */
  maxProblems: z.number().int().min(1).max(100_000).optional(),
});
/**
 * Options of `cb.chat.importLegacyJson()`. Validated by `ChatImportOptionsSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { ChatImportOptions } from 'carebase';
 * const options: ChatImportOptions = { createMissingUsers: false, batchSize: 1000 };
 * const result = await cb.chat.importLegacyJson({ ana: [{ role: 'user', content: 'Hello' }] }, options);
 * ```
 */
export interface ChatImportOptions {
  /** Create users missing from the database (disabled, with an unusable password). @default false */
  readonly createMissingUsers?: boolean | undefined;
  /** Role of users created by `createMissingUsers`. @default 'nurse' */
  readonly role?: string | undefined;
  /** Called after each batch. */
  readonly onProgress?: ((progress: ChatImportProgress) => void) | undefined;
  /** Messages per statement. @default 1000 */
  readonly batchSize?: number | undefined;
  /** Stops between batches (already imported batches stay; a re-run continues). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Content with NUL characters (which PostgreSQL text cannot hold): `refuse` reports each as a
   * problem; `escape` stores each NUL as the six characters `\u0000` and records the count in the
   * message's metadata (`legacyImport.nulEscaped`). @default 'refuse'
   */
  readonly nul?: 'refuse' | 'escape' | undefined;
  /**
   * Usernames that differ only in case (`alice` and `Alice`): `refuse` reports them as problems;
   * `merge` imports both into the one account. @default 'refuse'
   */
  readonly caseCollisions?: 'refuse' | 'merge' | undefined;
  /** At most this many problems are listed (all are counted). @default 1000 */
  readonly maxProblems?: number | undefined;
}

/**
 * What an import did. Running the same file again yields the same `users` and `messages` and
 * `inserted: 0`, `alreadyPresent: messages`.
 *
 * @example
 * ```ts
 * import type { ChatImportResult } from 'carebase';
 * const result: ChatImportResult = await cb.chat.importLegacyJson('./data/chat_history.json');
 * if (result.usersMissing.length > 0)
 *   console.warn(`${result.usersMissing.length} unknown users skipped: create them and re-run`);
 * console.log(`${result.inserted} messages imported, ${result.alreadyPresent} already present`);
 * ```
 */
export interface ChatImportResult {
  /** Usernames in the file. */
  readonly users: number;
  /** Messages in the file (all users): `read === inserted + alreadyPresent + refused`. */
  readonly read: number;
  /** Messages not imported: those of users missing from the database. */
  readonly refused: number;
  /** Messages stored repaired (NUL escaped), each noted in its metadata. */
  readonly repaired: number;
  /** Users created because `createMissingUsers` was set. */
  readonly usersCreated: number;
  /** Usernames skipped because no such user exists (and `createMissingUsers` was not set). */
  readonly usersMissing: readonly string[];
  /** Messages in the file for known users. */
  readonly messages: number;
  /** Messages written by this run. */
  readonly inserted: number;
  /** Messages already present from an earlier run (same user, position and content). */
  readonly alreadyPresent: number;
}

/**
 * Every problem of a legacy file, thrown as one `ValidationError` before anything is written: its
 * `issues` list each problem's path (`['bob', 2414, 'content']`) and reason; the message names the
 * count and the first one as `bob[2414].content`.
 */
function fileProblems(problems: readonly ValidationIssue[], truncated: boolean): ValidationError {
  const first = problems[0];
  const where = first === undefined ? '' : ` first at ${legacyPath(first.path)}: ${first.message}`;
  return new ValidationError(
    `invalid legacy chat file: ${problems.length}${truncated ? '+' : ''} problem${problems.length === 1 ? '' : 's'} (nothing was imported);${where}`,
    problems,
  );
}

/**
 * The client id a legacy message gets: derived from the (case-folded) username, its position in
 * the user's list and a SHA-256 of role and content, so a re-run maps every message to the same id.
 *
 * @example
 * ```ts
 * import { legacyClientId } from 'carebase';
 * legacyClientId('alice', 0, 'user', 'hi'); // 'legacy:<user hash>:0:<content hash>'
 * ```
 */
export function legacyClientId(username: string, index: number, role: string, content: string): string {
  const hash = createHash('sha256').update(`${role}\u0000${content}`).digest('hex').slice(0, 32);
  const user = createHash('sha256').update(username.toLowerCase()).digest('hex').slice(0, 16);
  return `legacy:${user}:${index}:${hash}`;
}

/**
 * The file's content: the object itself, or the file at a path, parsed. Boxed, because resolving a
 * promise with the caller's object would read its `then` (a getter or proxy could throw there).
 */
async function loadSource(source: string | unknown): Promise<{ readonly value: unknown }> {
  if (typeof source !== 'string') return { value: source };
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (error) {
    throw new ValidationError(
      'cannot read the chat file',
      [{ path: ['source'], message: 'is not a readable file', code: 'unreadable_file' }],
      { cause: error },
    );
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    throw new ValidationError('the chat file is not valid JSON', [
      { path: ['source'], message: 'is not valid JSON', code: 'invalid_json' },
    ]);
  }
}

/** Finds the users of the file (case-insensitively), creating missing ones when asked. */
async function resolveUsers(
  ctx: RepositoryContext,
  usernames: readonly string[],
  create: boolean,
  role: string,
): Promise<{ ids: Map<string, string>; created: number }> {
  const ids = new Map<string, string>();
  const lowered = usernames.map((name) => name.toLowerCase());
  const found = await ctx.db
    .selectFrom('users')
    .select(['id', sql<string>`lower(username)`.as('key')])
    .where(sql<string>`lower(username)`, 'in', lowered.length > 0 ? lowered : [''])
    .execute();
  for (const row of found) ids.set(row.key, row.id);
  let created = 0;
  if (create) {
    for (const name of usernames) {
      if (ids.has(name.toLowerCase())) continue;
      // Disabled, with a hash no password matches: an administrator enables the account after
      // setting a password. Email is a placeholder in the reserved .invalid domain.
      const row = await ctx.db
        .insertInto('users')
        .values({
          username: name,
          email: `${name.toLowerCase().replace(/[^a-z0-9._-]/g, '_')}.${randomBytes(4).toString('hex')}@imported.invalid`,
          password_hash: `!imported:${randomBytes(24).toString('base64url')}`,
          role,
          status: 'disabled',
        })
        .onConflict((oc) => oc.expression(sql`lower(username)`).doNothing())
        .returning('id')
        .executeTakeFirst();
      const id =
        row?.id ??
        (
          await ctx.db
            .selectFrom('users')
            .select('id')
            .where(sql<string>`lower(username)`, '=', name.toLowerCase())
            .executeTakeFirstOrThrow()
        ).id;
      if (row !== undefined) {
        created++;
        await recordAudit(ctx, {
          action: 'chat.import',
          resourceType: 'user',
          resourceId: id,
          subjectId: id,
          metadata: { userCreated: true },
        });
      }
      ids.set(name.toLowerCase(), id);
    }
  }
  return { ids, created };
}

/**
 * Imports the legacy file into each user's default conversation. The whole file is checked first
 * and every problem reported at once (nothing written). Each user's messages are written in one
 * transaction together with a `chat.import` audit entry (counts only), keeping each message's
 * `timestamp`; a re-run skips messages already imported (deterministic client ids), so an
 * interrupted import can be resumed.
 */
export async function importLegacyChat(
  ctx: RepositoryContext,
  source: string | unknown,
  options: ChatImportOptions,
): Promise<ChatImportResult> {
  const parsedOptions = parseInput(ChatImportOptionsSchema, options, 'import options');
  const createMissing = parsedOptions.createMissingUsers ?? false;
  const loaded = (await loadSource(source)).value;
  let check: ReturnType<typeof checkLegacyFile>;
  try {
    check = checkLegacyFile(loaded, {
      maxMessageBytes: ctx.config.chat.maxMessageBytes,
      nul: parsedOptions.nul ?? 'refuse',
      caseCollisions: parsedOptions.caseCollisions ?? 'refuse',
      maxProblems: parsedOptions.maxProblems ?? 1000,
      checkUsernames: createMissing,
    });
  } catch (error) {
    // A value that throws while being read (a getter, a proxy) is refused, never passed on raw.
    if (error instanceof CarebaseError) throw error;
    throw validationError('legacy chat file', [
      { path: [], message: 'could not be read', code: 'unreadable' },
    ]);
  }
  if (check.problems.length > 0) throw fileProblems(check.problems, check.truncated);
  const usernames = check.users.map((user) => user.name);
  const { ids, created } = await ctx.atomic((tx) =>
    resolveUsers(
      tx,
      [...new Set(usernames.map((name) => name))],
      createMissing,
      parsedOptions.role ?? 'nurse',
    ),
  );
  const known = check.users.filter((user) => ids.has(user.name.toLowerCase()));
  const read = check.users.reduce((sum, user) => sum + user.messages.length, 0);
  const messagesTotal = known.reduce((sum, user) => sum + user.messages.length, 0);
  const batchSize = parsedOptions.batchSize ?? 1000;
  const firstOfKey = new Map<string, string>();
  for (const user of check.users)
    if (!firstOfKey.has(user.name.toLowerCase())) firstOfKey.set(user.name.toLowerCase(), user.name);
  let messagesDone = 0;
  let inserted = 0;
  let repaired = 0;
  for (const [done, user] of known.entries()) {
    if (parsedOptions.signal?.aborted) throw new AbortError();
    const userId = ids.get(user.name.toLowerCase()) as string;
    // Merged case variants get ids of their own spelling; the first spelling keeps the usual ids.
    const idName = firstOfKey.get(user.name.toLowerCase()) === user.name ? user.name : `case:${user.name}`;
    const messages: LegacyRow[] = user.messages.map((message) => ({
      clientId: legacyClientId(idName, message.index, message.role, message.original),
      role: message.role,
      content: message.content,
      metadata: message.repaired === undefined ? null : JSON.stringify({ legacyImport: message.repaired }),
      createdAt: message.createdAt ?? null,
    }));
    repaired += user.messages.filter((message) => message.repaired !== undefined).length;
    const insertedForUser = await ctx.atomic(async (tx) => {
      let count = 0;
      const conversationId = await defaultConversation(tx, userId);
      for (let start = 0; start < messages.length; start += batchSize) {
        const batch = messages.slice(start, start + batchSize);
        count += await insertLegacyRows(tx, userId, conversationId, batch);
        messagesDone += batch.length;
        parsedOptions.onProgress?.({
          usersDone: done,
          usersTotal: known.length,
          messagesDone,
          messagesTotal,
        });
      }
      await recordAudit(tx, {
        action: 'chat.import',
        resourceType: 'chat_history',
        resourceId: userId,
        subjectId: userId,
        metadata: { messages: messages.length, inserted: count },
      });
      return count;
    });
    inserted += insertedForUser;
    parsedOptions.onProgress?.({
      usersDone: done + 1,
      usersTotal: known.length,
      messagesDone,
      messagesTotal,
    });
  }
  return {
    users: usernames.length,
    usersCreated: created,
    usersMissing: usernames.filter((name) => !ids.has(name.toLowerCase())),
    read,
    messages: messagesTotal,
    inserted,
    alreadyPresent: messagesTotal - inserted,
    refused: read - messagesTotal,
    repaired,
  };
}
