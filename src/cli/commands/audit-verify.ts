import { type CliCommand, ok, problem } from '../command.js';
import { stringFlag } from '../flags.js';
import { UsageError } from '../usage-error.js';

function dateFlag(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} must be a date (e.g. 2026-01-01)`);
  return date;
}

/**
 * `carebase audit verify`: recomputes the audit log's hash chains. Exit 0 when intact, 1 when an
 * entry was altered, removed or inserted out of band (the first bad entry id and the reason are
 * printed, never entry contents).
 */
export const auditVerifyCommand: CliCommand = {
  path: ['audit', 'verify'],
  summary: 'verify the tamper-evident audit chain (exit 1 and the first bad entry id when tampered)',
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: {
    from: { type: 'string', value: 'DATE', description: 'first month to check (default: all)' },
    to: { type: 'string', value: 'DATE', description: 'end of the range, exclusive (default: all)' },
  },
  details:
    'Seals pending entries first. Safe while the application writes: entries committed during the run\nare checked by the next run.',
  async run(context) {
    const from = dateFlag(stringFlag(context.values, 'from'), 'from');
    const to = dateFlag(stringFlag(context.values, 'to'), 'to');
    const database = await context.database();
    const result = await database.carebase().audit.verify({
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    if (result.ok) return ok({ checked: result.checked }, `audit log ok: ${result.checked} entries verified`);
    return problem(
      { checked: result.checked, firstBadId: result.firstBadId, reason: result.reason },
      `audit log TAMPERED: first bad entry id ${result.firstBadId} (${result.reason}); ${result.checked} entries verified before it`,
    );
  },
};
