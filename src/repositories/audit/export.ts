import { Readable } from 'node:stream';
import Cursor from 'pg-cursor';
import { z } from 'zod';
import { toCarebaseError } from '../../errors/map-error.js';
import type { RepositoryContext } from '../context.js';
import { AUDIT_ENTRY_COLUMNS, type AuditRow, toAuditEntry } from './audit-entry.js';

/**
 * What `cb.audit.export()` streams: entries with `from <= occurredAt < to`, oldest first.
 *
 * @example
 * ```ts
 * import { AuditExportInput } from 'carebase';
 * AuditExportInput.parse({ from: new Date('2026-01-01'), to: new Date('2026-02-01'), format: 'csv' });
 * ```
 */
export const AuditExportInput = z
  .strictObject({
    from: z.date(),
    to: z.date(),
    format: z.enum(['jsonl', 'csv']),
    /** Rows fetched per cursor round trip. @default 1000 */
    batchSize: z.number().int().min(1).max(10_000).optional(),
  })
  .refine((input) => input.from.getTime() <= input.to.getTime(), {
    path: ['to'],
    message: 'must not be before from',
  });

/** What `cb.audit.export()` streams. */
export type AuditExportInput = z.input<typeof AuditExportInput>;

const CSV_HEADER = [
  'id',
  'occurredAt',
  'actorUserId',
  'actorType',
  'action',
  'resourceType',
  'resourceId',
  'subjectId',
  'outcome',
  'outcomeDetail',
  'ip',
  'userAgent',
  'requestId',
  'changes',
  'metadata',
] as const;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Streams the parsed export through a server-side cursor (pg-cursor) on one pooled connection, in
 * a read-only transaction without the pool's statement timeout (a fetch from a multi-million-row
 * range may take longer than an ordinary query): memory stays constant whatever the range.
 */
export function exportAudit(ctx: RepositoryContext, input: z.output<typeof AuditExportInput>): Readable {
  const compiled = ctx.db
    .selectFrom('audit_log')
    .select([...AUDIT_ENTRY_COLUMNS])
    .where('occurred_at', '>=', input.from)
    .where('occurred_at', '<', input.to)
    .orderBy('occurred_at', 'asc')
    .orderBy('id', 'asc')
    .compile();
  const batchSize = input.batchSize ?? 1000;
  const csv = input.format === 'csv';
  const pool = ctx.runtime.pool;
  async function* lines(): AsyncGenerator<string> {
    const client = await pool.connect().catch((error: unknown) => {
      throw toCarebaseError(error);
    });
    let cursor: Cursor<AuditRow> | undefined;
    let failed = false;
    try {
      await client.query('begin read only');
      await client.query('set local statement_timeout = 0');
      cursor = client.query(new Cursor<AuditRow>(compiled.sql, [...compiled.parameters]));
      if (csv) yield `${CSV_HEADER.join(',')}\n`;
      for (;;) {
        const rows = await cursor.read(batchSize);
        if (rows.length === 0) break;
        let chunk = '';
        for (const row of rows) {
          const entry = toAuditEntry(row);
          chunk += csv
            ? `${CSV_HEADER.map((key) => csvCell(entry[key])).join(',')}\n`
            : `${JSON.stringify(entry)}\n`;
        }
        yield chunk;
      }
    } catch (error) {
      failed = true;
      throw toCarebaseError(error);
    } finally {
      // Also reached when the consumer destroys the stream early (generator return()).
      try {
        await cursor?.close();
        await client.query(failed ? 'rollback' : 'commit');
        client.release();
      } catch (error) {
        client.release(error instanceof Error ? error : true);
      }
    }
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 16 });
}
