import { readCheckpoints } from '../../repositories/audit/checkpoint-sink.js';
import { type CliCommand, ok, problem } from '../command.js';
import { stringFlag } from '../flags.js';
import { UsageError } from '../usage-error.js';
import { readKeyFile } from './audit-checkpoint.js';

/** A `--from`/`--to` date flag (usage error when it is not a date). */
export function dateFlag(value: string | undefined, name: string): Date | undefined {
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
    checkpoints: {
      type: 'string',
      value: 'DIR',
      description: 'also check the log against every signed checkpoint in DIR (from `audit checkpoint`)',
    },
    'public-key': {
      type: 'string',
      value: 'FILE',
      description:
        'Ed25519 public key (PEM) the checkpoints are signed with (default: $CAREBASE_AUDIT_PUBLIC_KEY_FILE)',
    },
  },
  details:
    'Seals pending entries first. Safe while the application writes: entries committed during the run\nare checked by the next run.',
  async run(context) {
    const from = dateFlag(stringFlag(context.values, 'from'), 'from');
    const to = dateFlag(stringFlag(context.values, 'to'), 'to');
    const dir = stringFlag(context.values, 'checkpoints');
    let checkpointOptions = {};
    if (dir !== undefined) {
      const keyPath =
        stringFlag(context.values, 'public-key') ?? context.io.env.CAREBASE_AUDIT_PUBLIC_KEY_FILE;
      const publicKey = await readKeyFile(keyPath, 'public-key');
      if (publicKey === undefined)
        throw new UsageError('--checkpoints needs --public-key (or CAREBASE_AUDIT_PUBLIC_KEY_FILE)');
      let checkpoints: Awaited<ReturnType<typeof readCheckpoints>>;
      try {
        checkpoints = await readCheckpoints(dir);
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT')
          throw new UsageError('--checkpoints: no such directory');
        throw error;
      }
      checkpointOptions = { checkpoints, publicKey };
    }
    const database = await context.database();
    const result = await database.carebase().audit.verify({
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...checkpointOptions,
    });
    if (result.ok) {
      const against =
        result.checkpointsChecked === undefined
          ? ''
          : `, consistent with ${result.checkpointsChecked} checkpoints`;
      return ok(
        {
          checked: result.checked,
          ...(result.checkpointsChecked === undefined
            ? {}
            : { checkpointsChecked: result.checkpointsChecked }),
        },
        `audit log ok: ${result.checked} entries verified${against}`,
      );
    }
    const contradicts =
      result.checkpoint === undefined
        ? ''
        : `; contradicts checkpoint #${result.checkpoint.index + 1} of ${result.checkpoint.createdAt ?? '(unreadable)'}${result.checkpoint.month === undefined ? '' : ` (month ${result.checkpoint.month})`}`;
    return problem(
      {
        checked: result.checked,
        firstBadId: result.firstBadId,
        reason: result.reason,
        ...(result.checkpoint === undefined ? {} : { checkpoint: result.checkpoint }),
      },
      `audit log TAMPERED: first bad entry id ${result.firstBadId} (${result.reason}); ${result.checked} entries verified before it${contradicts}`,
    );
  },
};
