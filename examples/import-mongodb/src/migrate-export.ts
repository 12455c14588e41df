import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Carebase, ImportAuditRow, ImportMessageRow, ImportReport } from 'carebase';
import { sql } from 'kysely';
import { type Plain, parseExport } from './extended-json.ts';

/** NUL as the six characters `\u0000` (PostgreSQL text cannot hold NUL). */
export function escapeNul(content: string): string {
  return content.replaceAll('\u0000', '\\u0000');
}

/** Rows per `cb.imports` call (each call is one transaction). */
const BATCH = 20_000;

/** What the migration did, one report per entity (messages and audit entries summed over batches). */
export interface MigrationReport {
  readonly users: ImportReport;
  readonly conversations: ImportReport;
  readonly messages: ImportReport;
  readonly auditEntries: ImportReport;
  /** Users whose embedded arrays went to the host table `mongo_user_extras`. */
  readonly extras: number;
}

const text = (value: Plain | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;
const time = (value: Plain | undefined): Date | undefined => (value instanceof Date ? value : undefined);

function merge(reports: readonly ImportReport[], fallback: ImportReport): ImportReport {
  const [first] = reports;
  if (first === undefined) return fallback;
  let read = 0;
  let inserted = 0;
  let alreadyPresent = 0;
  let pastRetention = 0;
  const refused: ImportReport['refused'][number][] = [];
  for (const r of reports) {
    read += r.read;
    inserted += r.inserted;
    alreadyPresent += r.alreadyPresent;
    pastRetention += r.pastRetention;
    refused.push(...r.refused);
  }
  return { ...first, read, inserted, alreadyPresent, refused, pastRetention };
}

/**
 * Moves a `mongoexport` of the old app into carebase: `users.json` (bcrypt hashes, embedded
 * `favoriteTopics` and `devices` arrays), `conversations.json` (each with embedded `messages`)
 * and `activity_logs.json`. Original ObjectIds become external ids under `source`, so running it
 * again imports nothing. What carebase does not own (the embedded arrays) goes to the host table
 * `mongo_user_extras`, upserted.
 */
export async function migrateMongoExport(
  cb: Carebase,
  dir: string,
  source = 'mongo',
): Promise<MigrationReport> {
  const read = async (name: string) => parseExport(await readFile(join(dir, name), 'utf8'));
  const [users, conversations, logs] = await Promise.all([
    read('users.json'),
    read('conversations.json'),
    read('activity_logs.json'),
  ]);

  const usersReport = await cb.imports.users({
    source,
    users: users.map((u) => ({
      externalId: text(u._id) ?? '',
      username: text(u.username) ?? '',
      email: text(u.email) ?? '',
      role: text(u.role) ?? 'nurse',
      ...(text(u.passwordHash) === undefined
        ? {}
        : { passwordHash: { algorithm: 'bcrypt' as const, hash: text(u.passwordHash) ?? '' } }),
      ...(time(u.createdAt) === undefined ? {} : { createdAt: time(u.createdAt) }),
      ...(time(u.lastLogin) === undefined ? {} : { lastLoginAt: time(u.lastLogin) }),
    })),
  });

  // Embedded arrays carebase does not own: into the host's table, keyed by the carebase user id.
  const ids = await cb.db
    .selectFrom('users')
    .select(['id', 'external_id'])
    .where('import_source', '=', source)
    .execute();
  const idOf = new Map(ids.map((row) => [row.external_id, row.id]));
  const extras = users.flatMap((u) => {
    const id = idOf.get(text(u._id) ?? '');
    if (id === undefined) return [];
    const topics = Array.isArray(u.favoriteTopics) ? u.favoriteTopics.map(String) : [];
    return [{ id, topics, devices: JSON.stringify(Array.isArray(u.devices) ? u.devices : []) }];
  });
  if (extras.length > 0) {
    await sql`insert into mongo_user_extras (user_id, favorite_topics, devices)
      select u, coalesce(string_to_array(t, chr(31)), '{}'), d::jsonb
      from unnest(${extras.map((e) => e.id)}::uuid[], ${extras.map((e) => e.topics.join('\u001f') || null)}::text[],
        ${extras.map((e) => e.devices)}::text[]) as x(u, t, d)
      on conflict (user_id) do update set favorite_topics = excluded.favorite_topics, devices = excluded.devices`.execute(
      cb.db,
    );
  }

  const conversationsReport = await cb.imports.conversations({
    source,
    conversations: conversations.map((c) => ({
      externalId: text(c._id) ?? '',
      userExternalId: text(c.userId) ?? '',
      ...(text(c.title) === undefined ? {} : { title: text(c.title) }),
      ...(time(c.createdAt) === undefined ? {} : { createdAt: time(c.createdAt) }),
    })),
  });

  const messages: ImportMessageRow[] = conversations.flatMap((c) =>
    (Array.isArray(c.messages) ? c.messages : []).map((m, index) => {
      const message = m as Record<string, Plain>;
      // PostgreSQL text cannot hold NUL: keep the message, escaped, and say so in its metadata.
      const raw = text(message.content) ?? '';
      const nul = raw.split('\u0000').length - 1;
      return {
        // Embedded messages may lack an _id: the conversation id and position identify them.
        externalId: text(message._id) ?? `${text(c._id)}#${index}`,
        conversationExternalId: text(c._id) ?? '',
        role: (text(message.role) ?? 'user') as ImportMessageRow['role'],
        content: nul === 0 ? raw : escapeNul(raw),
        ...(nul === 0 ? {} : { metadata: { nulEscaped: nul } }),
        createdAt: time(message.timestamp) ?? time(c.createdAt) ?? new Date(0),
      };
    }),
  );
  const messageReports: ImportReport[] = [];
  for (let start = 0; start < messages.length; start += BATCH) {
    messageReports.push(
      await cb.imports.messages({ source, messages: messages.slice(start, start + BATCH) }),
    );
  }

  const entries: ImportAuditRow[] = logs.map((log) => ({
    externalId: text(log._id) ?? '',
    occurredAt: time(log.timestamp) ?? new Date(0),
    action: `legacy.${(text(log.action) ?? 'event').toLowerCase().replace(/[^a-z0-9_]+/g, '_')}`,
    resourceType: text(log.resource) ?? 'app',
    ...(text(log.userId) === undefined ? {} : { userExternalId: text(log.userId) }),
    ...(text(log.ip) === undefined ? {} : { ip: text(log.ip) }),
    ...(log.details !== undefined &&
    typeof log.details === 'object' &&
    !(log.details instanceof Date) &&
    !Array.isArray(log.details)
      ? { metadata: log.details as Record<string, never> }
      : {}),
  }));
  const auditReports: ImportReport[] = [];
  for (let start = 0; start < entries.length; start += BATCH) {
    auditReports.push(
      await cb.imports.auditEntries({ source, entries: entries.slice(start, start + BATCH) }),
    );
  }
  const empty = (entity: ImportReport['entity']): ImportReport => ({
    entity,
    source,
    read: 0,
    inserted: 0,
    alreadyPresent: 0,
    refused: [],
    pastRetention: 0,
  });
  return {
    users: usersReport,
    conversations: conversationsReport,
    messages: merge(messageReports, empty('messages')),
    auditEntries: merge(auditReports, empty('auditEntries')),
    extras: extras.length,
  };
}

/** The reconciliation as a table: one line per entity. */
export function formatReport(report: MigrationReport): string {
  const rows = [report.users, report.conversations, report.messages, report.auditEntries].map((r) =>
    [r.entity, r.read, r.inserted, r.alreadyPresent, r.refused.length, r.pastRetention].map(String),
  );
  const header = ['entity', 'read', 'inserted', 'already present', 'refused', 'past retention'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  return [header, ...rows]
    .map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '))
    .join('\n');
}
