import { Readable } from 'node:stream';
import { type ControlledTransaction, sql } from 'kysely';
import { toCarebaseError } from '../../errors/map-error.js';
import { setActingUser } from '../../pool/transaction.js';
import type { JsonValue } from '../../schema/audit.js';
import type { ChatRole } from '../../schema/chat.js';
import type { CarebaseDatabase } from '../../schema/database.js';
import { csvRecord } from '../../sql/csv.js';
import { exactTimestamp } from '../../sql/exact-timestamp.js';
import { recordAudit } from '../audit/record.js';
import { RepositoryContext } from '../context.js';
import { type UserKeys, userKeys } from '../encryption/data-keys.js';
import type { StoredParts } from './check-parts.js';
import { assertParticipant } from './ownership.js';
import { openMessageRow } from './sealed-rows.js';

/**
 * Version of the export format (the `version` field of the first record); bumped only on an
 * incompatible change.
 *
 * @example
 * ```ts
 * import { CHAT_EXPORT_FORMAT_VERSION } from 'carebase';
 * import { readFileSync } from 'node:fs';
 * const [firstLine = ''] = readFileSync('chat.jsonl', 'utf8').split('\n', 1);
 * const header = JSON.parse(firstLine) as { format: string; version: number };
 * if (header.version !== CHAT_EXPORT_FORMAT_VERSION) throw new Error('unsupported export');
 * ```
 */
export const CHAT_EXPORT_FORMAT_VERSION = 1;
/**
 * The `format` tag written in every export's first record.
 *
 * @example
 * ```ts
 * import { CHAT_EXPORT_FORMAT } from 'carebase';
 * import { readFileSync } from 'node:fs';
 * const [firstLine = ''] = readFileSync('chat.jsonl', 'utf8').split('\n', 1);
 * const header = JSON.parse(firstLine) as { format: string };
 * if (header.format !== CHAT_EXPORT_FORMAT) throw new Error('not a carebase chat export');
 * ```
 */
export const CHAT_EXPORT_FORMAT = 'carebase.chat-export';

/**
 * The export formats: JSON Lines, one JSON document, or CSV.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * import type { ChatExportFormat } from 'carebase';
 * const contentTypes: Record<ChatExportFormat, string> = {
 *   jsonl: 'application/jsonl',
 *   json: 'application/json',
 *   csv: 'text/csv',
 * };
 * const format: ChatExportFormat = req.query.format === 'csv' ? 'csv' : 'jsonl';
 * res.type(contentTypes[format]).attachment(`chat.${format}`);
 * await pipeline(cb.chat.export({ userId: req.user.id, format }), res);
 * ```
 */
export type ChatExportFormat = 'jsonl' | 'json' | 'csv';

/** Parsed `export()` input. */
export interface ExportQuery {
  readonly userId: string;
  readonly conversationId: string | undefined;
  readonly format: ChatExportFormat;
}

interface ExportRow {
  id: string;
  author_user_id: string | null;
  user_id: string;
  conversation_id: string;
  client_id: string | null;
  role: string;
  content: string;
  metadata: unknown;
  /** The stored parts (`{ v, parts }`), or null. */
  parts: unknown;
  created_at: string;
}

const CSV_COLUMNS = [
  'format_version',
  'conversation_id',
  'id',
  'client_id',
  'created_at',
  'role',
  'content',
  'metadata',
  'parts',
] as const;

function record(row: ExportRow): Record<string, unknown> {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    authorUserId: row.author_user_id ?? row.user_id,
    clientId: row.client_id,
    createdAt: row.created_at,
    role: row.role,
    content: row.content,
    parts: partsOf(row),
    metadata: row.metadata,
  };
}

/** The parts array of an exported row (`null` without parts). */
function partsOf(row: ExportRow): unknown {
  return (row.parts as StoredParts | null)?.parts ?? null;
}

/** Serializes the header, each row and the trailer for one format. */
function serializer(format: ChatExportFormat, header: Record<string, unknown>) {
  switch (format) {
    case 'jsonl':
      return {
        head: `${JSON.stringify(header)}\n`,
        row: (row: ExportRow) => `${JSON.stringify(record(row))}\n`,
        tail: () => '',
      };
    case 'json': {
      let first = true;
      return {
        head: `${JSON.stringify(header).slice(0, -1)},"messages":[`,
        row: (row: ExportRow) => {
          const text = `${first ? '\n' : ',\n'}${JSON.stringify(record(row))}`;
          first = false;
          return text;
        },
        tail: () => `${first ? '' : '\n'}]}\n`,
      };
    }
    case 'csv':
      return {
        head: csvRecord(CSV_COLUMNS),
        row: (row: ExportRow) =>
          csvRecord([
            CHAT_EXPORT_FORMAT_VERSION,
            row.conversation_id,
            row.id,
            row.client_id,
            row.created_at,
            row.role,
            row.content,
            row.metadata,
            partsOf(row),
          ]),
        tail: () => '',
      };
  }
}

/**
 * Streams a user's messages (one conversation, or every conversation the user takes part in,
 * ordered by conversation, time and id) through pg-cursor, `chunkSize` rows per round trip, in a REPEATABLE READ transaction that
 * also writes the `chat.export` audit entry. Memory stays constant: the Readable pulls the next
 * chunk only when the consumer has drained the previous one.
 */
async function* generate(ctx: RepositoryContext, query: ExportQuery): AsyncGenerator<string> {
  // The subject is the owner of the exported conversation (a participant may export a shared one).
  const audit = (owner: string) => ({
    action: 'chat.export',
    resourceType: query.conversationId === undefined ? 'chat_history' : 'conversation',
    resourceId: query.conversationId ?? query.userId,
    subjectId: owner,
    metadata: { format: query.format },
  });
  let owner = query.userId;
  // With read replicas, the snapshot is a replica's: the audit entry is committed on the primary
  // first (after the ownership check), then the rows stream from a replica that replayed it.
  const onReplica = !ctx.inTransaction && ctx.runtime.replicas !== undefined;
  if (onReplica) {
    if (query.conversationId !== undefined) {
      owner = (await assertParticipant(ctx, query.userId, query.conversationId, 'read')).ownerId;
    }
    await recordAudit(ctx, audit(owner));
  }
  // Inside the caller's transaction, stream on it; otherwise open our own (a consistent snapshot).
  const opened: { trx: ControlledTransaction<CarebaseDatabase>; tx: RepositoryContext } | undefined =
    ctx.inTransaction
      ? undefined
      : await ctx.onReplica(async (reader) => {
          const trx = await reader.db.startTransaction().setIsolationLevel('repeatable read').execute();
          // Row-level security (`rls: true`): the stream reads as the scope's user.
          const acting = reader.rlsUserId;
          if (acting !== undefined) {
            try {
              await setActingUser<CarebaseDatabase>(trx, acting);
            } catch (error) {
              await trx
                .rollback()
                .execute()
                .catch(() => undefined);
              throw toCarebaseError(error);
            }
          }
          return { trx, tx: new RepositoryContext(reader.runtime, trx, reader.actor, reader.replica) };
        });
  const trx = opened?.trx;
  let failed = false;
  try {
    const tx = opened?.tx ?? ctx;
    if (!onReplica) {
      if (query.conversationId !== undefined) {
        owner = (await assertParticipant(tx, query.userId, query.conversationId, 'read')).ownerId;
      }
      await recordAudit(tx, audit(owner));
    }
    const exportedAt = tx.now().toISOString();
    const format = serializer(query.format, {
      format: CHAT_EXPORT_FORMAT,
      version: CHAT_EXPORT_FORMAT_VERSION,
      exportedAt,
      userId: query.userId,
      conversationId: query.conversationId ?? null,
    });
    yield format.head;
    const columns = [
      'm.id',
      'm.user_id',
      'm.author_user_id',
      'm.conversation_id',
      'm.client_id',
      'm.role',
      'm.content',
      'm.metadata',
      'm.parts',
      sql.raw<string>(exactTimestamp('m.created_at')).as('created_at'),
      'm.created_at as sort_at',
    ] as const;
    // One conversation under its owner's key; or every conversation the user takes part in: their
    // own key range (index order) merged with the conversations shared with them.
    const rows = (
      query.conversationId === undefined
        ? tx.db
            .selectFrom('chat_messages as m')
            .select(columns)
            .where('m.user_id', '=', owner)
            .unionAll(
              tx.db
                .selectFrom('conversation_participants as p')
                .innerJoin('chat_messages as m', (join) =>
                  join
                    .onRef('m.user_id', '=', 'p.owner_id')
                    .onRef('m.conversation_id', '=', 'p.conversation_id'),
                )
                .select(columns)
                .where('p.user_id', '=', query.userId)
                .where('p.role', '<>', 'owner'),
            )
        : tx.db
            .selectFrom('chat_messages as m')
            .select(columns)
            .where('m.user_id', '=', owner)
            .where('m.conversation_id', '=', query.conversationId)
    )
      .orderBy('conversation_id')
      .orderBy('sort_at')
      .orderBy('id')
      .stream(ctx.config.chat.exportChunkSize);
    // Batch small rows into fewer, larger chunks for the consumer.
    let buffer = '';
    // Sealed rows open with their owner's keys (a shared conversation's owner is not the caller).
    const keys = new Map<string, UserKeys | undefined>();
    for await (const row of rows) {
      if (typeof row.metadata === 'string' && !keys.has(row.user_id)) {
        keys.set(row.user_id, (await userKeys(tx, [row.user_id], false)).get(row.user_id));
      }
      buffer += format.row(openExportRow(tx, row.user_id, row, keys.get(row.user_id)));
      if (buffer.length >= 65_536) {
        yield buffer;
        buffer = '';
      }
    }
    yield buffer + format.tail();
  } catch (error) {
    failed = true;
    throw toCarebaseError(error);
  } finally {
    // A consumer that stops early (destroy) still read data: the audit entry is committed then.
    if (trx !== undefined) {
      if (failed)
        await trx
          .rollback()
          .execute()
          .catch(() => undefined);
      else await commitOrRelease(trx);
    }
  }
}

/** A streamed row with its sealed fields opened (see sealed-rows.ts). */
function openExportRow(
  ctx: RepositoryContext,
  userId: string,
  row: ExportRow & { sort_at: Date },
  keys: UserKeys | undefined,
): ExportRow {
  if (typeof row.metadata !== 'string' && ctx.config.encryption === undefined) return row;
  const opened = openMessageRow(
    ctx,
    {
      id: row.id,
      user_id: userId,
      conversation_id: row.conversation_id,
      role: row.role as ChatRole,
      content: row.content,
      metadata: row.metadata as JsonValue | null,
      parts: row.parts as StoredParts | null,
      created_at: row.sort_at,
    },
    keys,
  );
  return { ...row, content: opened.content, metadata: opened.metadata, parts: opened.parts };
}

/**
 * Commits `trx`. A failed commit leaves the connection checked out: a rollback then releases it
 * (discarding it when the connection is gone), and the commit's error is rethrown.
 */
async function commitOrRelease(trx: ControlledTransaction<CarebaseDatabase>): Promise<void> {
  try {
    await trx.commit().execute();
  } catch (error) {
    await trx
      .rollback()
      .execute()
      .catch(() => undefined);
    throw toCarebaseError(error);
  }
}

/** Returns a Readable of UTF-8 text in the requested format; errors arrive as stream errors. */
export function exportChat(ctx: RepositoryContext, query: ExportQuery): Readable {
  return Readable.from(generate(ctx, query), { objectMode: false, encoding: 'utf8' });
}
