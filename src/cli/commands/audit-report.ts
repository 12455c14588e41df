import { csvRecord } from '../../sql/csv.js';
import { type CliCommand, type CommandContext, ok } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { stringFlag } from '../flags.js';
import { UsageError } from '../usage-error.js';
import { dateFlag } from './audit-verify.js';

const RANGE: Record<string, FlagSpec> = {
  from: {
    type: 'string',
    value: 'DATE',
    description: 'first instant included (default: all; disclosures: six years ago)',
  },
  to: { type: 'string', value: 'DATE', description: 'end of the range, exclusive (default: now and later)' },
  format: { type: 'string', value: 'csv|jsonl', description: 'output format without --json (default: csv)' },
};
const SUBJECT: Record<string, FlagSpec> = {
  subject: {
    type: 'string',
    value: 'ID',
    description: 'the subject (patient or person id) the report is about',
  },
};

/**
 * Writes report rows: as CSV (header first) or JSON lines to stdout while they stream in, or, with
 * `--json`, collected into the one JSON document (`rows`).
 */
async function emit(
  context: CommandContext,
  rows: AsyncIterable<Record<string, unknown>>,
  columns: readonly string[],
) {
  const format = stringFlag(context.values, 'format') ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') throw new UsageError('--format must be csv or jsonl');
  const collected: Record<string, unknown>[] = [];
  let count = 0;
  if (!context.json && format === 'csv') context.io.stdout.write(csvRecord(columns));
  for await (const row of rows) {
    count++;
    if (context.json) collected.push(row);
    else if (format === 'csv') context.io.stdout.write(csvRecord(columns.map((column) => row[column])));
    else context.io.stdout.write(`${JSON.stringify(row)}\n`);
  }
  if (!context.json) context.note(`${count} rows`);
  return ok({ count, rows: collected }, '');
}

function range(context: CommandContext): { from?: Date; to?: Date } {
  const from = dateFlag(stringFlag(context.values, 'from'), 'from');
  const to = dateFlag(stringFlag(context.values, 'to'), 'to');
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

function subject(context: CommandContext): string {
  const value = stringFlag(context.values, 'subject');
  if (value === undefined || value === '') throw new UsageError('--subject is required');
  return value;
}

const ENTRY_COLUMNS = [
  'id',
  'occurredAt',
  'userId',
  'actorType',
  'action',
  'resourceType',
  'resourceId',
  'subjectId',
  'outcome',
  'severity',
  'purposeOfUse',
  'legalBasis',
  'recipient',
  'description',
  'breakGlass',
  'breakGlassReason',
  'ip',
  'userAgent',
  'requestId',
] as const;

/** `carebase audit accesses --subject ID`: who accessed or disclosed a subject's records. */
export const auditReportAccessesCommand: CliCommand = {
  path: ['audit', 'accesses'],
  summary: "who accessed or disclosed a subject's records: when, why, from where (CSV or JSON lines)",
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: { ...SUBJECT, ...RANGE },
  async run(context) {
    const subjectId = subject(context);
    const rows = (await context.database())
      .carebase()
      .audit.report.accessesToSubject({ subjectId, ...range(context) });
    return emit(context, rows as AsyncIterable<Record<string, unknown>>, ENTRY_COLUMNS);
  },
};

/** `carebase audit disclosures --subject ID`: the accounting of disclosures (HIPAA 164.528). */
export const auditReportDisclosuresCommand: CliCommand = {
  path: ['audit', 'disclosures'],
  summary: "the accounting of disclosures of a subject's records: date, recipient, purpose, description",
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: { ...SUBJECT, ...RANGE },
  async run(context) {
    const subjectId = subject(context);
    const rows = (await context.database())
      .carebase()
      .audit.report.disclosures({ subjectId, ...range(context) });
    return emit(context, rows as unknown as AsyncIterable<Record<string, unknown>>, [
      'entryId',
      'occurredAt',
      'recipient',
      'purposeOfUse',
      'description',
      'legalBasis',
      'userId',
      'resourceType',
      'resourceId',
    ]);
  },
};

/** `carebase audit break-glass`: emergency-access entries, for review. */
export const auditReportBreakGlassCommand: CliCommand = {
  path: ['audit', 'break-glass'],
  summary: 'break-glass (emergency access) entries, for review',
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: { ...RANGE },
  async run(context) {
    const rows = (await context.database()).carebase().audit.report.breakGlass(range(context));
    return emit(context, rows as AsyncIterable<Record<string, unknown>>, ENTRY_COLUMNS);
  },
};
