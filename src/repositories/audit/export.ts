import { Readable } from 'node:stream';
import type { PostgresCursor } from 'kysely';
import Cursor from 'pg-cursor';
import { z } from 'zod';
import { toCarebaseError } from '../../errors/map-error.js';
import { csvRecord } from '../../sql/csv.js';
import type { RepositoryContext } from '../context.js';
import { AUDIT_ENTRY_COLUMNS, type AuditEntry, type AuditRow, toAuditEntry } from './audit-entry.js';
import { toFhirAuditEvent } from './fhir-audit-event.js';

/**
 * What `cb.audit.export()` streams: entries with `from <= occurredAt < to`, oldest first.
 *
 * @example
 * ```ts
 * import { AuditExportInputSchema } from 'carebase/schemas';
 * AuditExportInputSchema.parse({ from: new Date('2026-01-01'), to: new Date('2026-02-01'), format: 'csv' });
 * ```
 */
export const AuditExportInputSchema = z
  .strictObject({
    from: z.date(),
    to: z.date(),
    /**
     * `jsonl` and `csv`: carebase's entry fields. `fhir-auditevent`: one FHIR R4 `Bundle`
     * (type `collection`) of `AuditEvent` resources; `fhir-ndjson`: the same resources as
     * newline-delimited JSON (FHIR bulk data).
     */
    format: z.enum(['jsonl', 'csv', 'fhir-auditevent', 'fhir-ndjson']),
    /**
     * Rows fetched per cursor round trip. Larger batches save round trips but keep more rows alive
     * at each young-generation GC, which makes V8 grow its heap during a long export.
     * @default 50
     */
    batchSize: z.number().int().min(1).max(10_000).optional(),
  })
  .refine((input) => input.from.getTime() <= input.to.getTime(), {
    path: ['to'],
    message: 'must not be before from',
  });

/**
 * What `cb.audit.export()` streams: the range `[from, to)` as JSON lines or CSV. Validated by `AuditExportInputSchema` (`carebase/schemas`).
 *
 * @example
 * ```ts
 * import type { AuditExportInput } from 'carebase';
 * const input: AuditExportInput = { from, to, format: 'csv' };
 * cb.audit.export(input).pipe(res.type('text/csv'));
 * ```
 */
export interface AuditExportInput {
  readonly from: Date;
  readonly to: Date;
  /** `fhir-auditevent`: a FHIR R4 Bundle of AuditEvent resources; `fhir-ndjson`: one AuditEvent per line. */
  readonly format: 'jsonl' | 'csv' | 'fhir-auditevent' | 'fhir-ndjson';
  /**
   * Rows fetched per cursor round trip. Larger batches save round trips but keep more rows alive
   * at each young-generation GC, which makes V8 grow its heap during a long export.
   * @default 50
   */
  readonly batchSize?: number | undefined;
}

const CSV_HEADER = [
  'id',
  'occurredAt',
  'userId',
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
  'severity',
  'purposeOfUse',
  'legalBasis',
  'recipient',
  'description',
  'breakGlass',
  'breakGlassReason',
] as const;

/**
 * Where an export's memory goes is V8's heap sizing, not retained rows, so both constants keep
 * the garbage an export makes short-lived (measured in bench/audit-export-memory.bench.ts):
 *
 * - Chunks handed to the stream stay well below V8's large-object threshold (128 KiB). A chunk
 *   per cursor batch (~400 KB of JSON for 1000 rows) is allocated in the large-object space,
 *   which only a full mark-compact frees, so dead chunks piled up between full GCs.
 * - Few rows per fetch: the rows of the current batch are what survives each young-generation
 *   GC, and V8 grows the young generation (up to its maximum, 64-128 MB) each time the bytes
 *   that survived since its last growth exceed its size. 1000 rows per fetch grew it to the
 *   maximum within 1M entries (RSS +137 MB); 50 rows survive ~46 KB per GC, so a 1M-entry export
 *   stays at the young generation's second step (RSS +24 MB), at ~20k round trips per 1M rows.
 */
const CHUNK_CHARS = 16 * 1024;
const DEFAULT_BATCH_SIZE = 50;

/**
 * Streams the parsed export through a server-side cursor (pg-cursor) on one pooled connection, in
 * a read-only transaction without the pool's statement timeout (a fetch from a multi-million-row
 * range may take longer than an ordinary query): memory stays constant whatever the range. Inside
 * a transaction (`tx.audit.export()`) the cursor runs on the transaction's own connection and
 * snapshot instead: never a second connection.
 */
export function exportAudit(
  ctx: RepositoryContext,
  input: z.output<typeof AuditExportInputSchema>,
): Readable {
  const query = ctx.db
    .selectFrom('audit_log')
    .select([...AUDIT_ENTRY_COLUMNS])
    .where('occurred_at', '>=', input.from)
    .where('occurred_at', '<', input.to)
    .orderBy('occurred_at', 'asc')
    .orderBy('id', 'asc');
  const batchSize = input.batchSize ?? DEFAULT_BATCH_SIZE;
  const format = input.format;
  const site = ctx.config.schema;
  let first = true;
  const line = (entry: AuditEntry): string => {
    switch (format) {
      case 'csv':
        return csvRecord(CSV_HEADER.map((key) => entry[key]));
      case 'jsonl':
        return `${JSON.stringify(entry)}\n`;
      case 'fhir-ndjson':
        return `${JSON.stringify(toFhirAuditEvent(entry, site))}\n`;
      case 'fhir-auditevent': {
        // FHIR JSON has no empty arrays: "entry" starts with the first entry.
        const separator = first ? ',"entry":[\n' : ',\n';
        first = false;
        return `${separator}${JSON.stringify({ resource: toFhirAuditEvent(entry, site) })}`;
      }
    }
  };

  /** The rows in export order, a cursor batch at a time. */
  async function* batches(): AsyncGenerator<readonly AuditRow[]> {
    if (ctx.inTransaction) {
      for await (const row of query.stream(batchSize)) yield [row as AuditRow];
      return;
    }
    const compiled = query.compile();
    // Opened, and the first batch read, on a read replica when there is one in rotation (on the
    // primary if the replica fails by then; a failure later ends the export with its error).
    const opened = await ctx.onReplica(async (reader) => {
      const connection = await reader.connections.connect();
      let cursor: PostgresCursor<AuditRow> | undefined;
      try {
        await connection.query('begin read only', []);
        await connection.query('set local statement_timeout = 0', []);
        cursor = connection.cursor(new Cursor<AuditRow>(compiled.sql, [...compiled.parameters]));
        return { connection, cursor, rows: await cursor.read(batchSize) };
      } catch (error) {
        try {
          await cursor?.close();
          await connection.query('rollback', []);
          connection.release();
        } catch {
          connection.release(true);
        }
        throw error;
      }
    });
    const { connection, cursor } = opened;
    let failed = false;
    try {
      for (let rows = opened.rows; rows.length > 0; rows = await cursor.read(batchSize)) yield rows;
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // Also reached when the consumer destroys the stream early (generator return()).
      try {
        await cursor.close();
        await connection.query(failed ? 'rollback' : 'commit', []);
        connection.release();
      } catch {
        connection.release(true);
      }
    }
  }

  async function* lines(): AsyncGenerator<string> {
    try {
      if (format === 'csv') yield csvRecord(CSV_HEADER);
      if (format === 'fhir-auditevent') {
        const timestamp = JSON.stringify(ctx.now().toISOString());
        yield `{"resourceType":"Bundle","type":"collection","timestamp":${timestamp}`;
      }
      let parts: string[] = [];
      let length = 0;
      for await (const rows of batches()) {
        for (const row of rows) {
          const text = line(toAuditEntry(row));
          parts.push(text);
          length += text.length;
          if (length >= CHUNK_CHARS) {
            yield parts.join('');
            parts = [];
            length = 0;
          }
        }
      }
      if (format === 'fhir-auditevent') parts.push(first ? '}\n' : '\n]}\n');
      if (parts.length > 0) yield parts.join('');
    } catch (error) {
      throw toCarebaseError(error);
    }
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 16 });
}
