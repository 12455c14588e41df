import { Readable } from 'node:stream';
import { z } from 'zod';
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

/** Streams the parsed export through a server-side cursor (pg-cursor): constant memory. */
export function exportAudit(ctx: RepositoryContext, input: z.output<typeof AuditExportInput>): Readable {
  const rows = ctx.db
    .selectFrom('audit_log')
    .select([...AUDIT_ENTRY_COLUMNS])
    .where('occurred_at', '>=', input.from)
    .where('occurred_at', '<', input.to)
    .orderBy('occurred_at', 'asc')
    .orderBy('id', 'asc')
    .stream(input.batchSize ?? 1000);
  const csv = input.format === 'csv';
  async function* lines(): AsyncGenerator<string> {
    if (csv) yield `${CSV_HEADER.join(',')}\n`;
    for await (const row of rows) {
      const entry = toAuditEntry(row as AuditRow);
      yield csv
        ? `${CSV_HEADER.map((key) => csvCell(entry[key])).join(',')}\n`
        : `${JSON.stringify(entry)}\n`;
    }
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 64 * 1024 });
}
