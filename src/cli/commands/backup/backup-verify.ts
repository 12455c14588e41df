import { resolve } from 'node:path';
import { verifyBackup } from '../../../backup/verify-backup.js';
import { type CliCommand, ok, problem } from '../../command.js';
import { backupConnection } from './backup-options.js';

/** `carebase backup verify FILE`: checksum and `pg_restore --list`; optionally a trial restore. */
export const backupVerifyCommand: CliCommand = {
  path: ['backup', 'verify'],
  summary: 'check an archive: checksum, pg_restore --list, optionally a trial restore (exit 1 when bad)',
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  database: 'optional',
  flags: {
    'trial-restore': {
      type: 'boolean',
      description:
        'also restore into a scratch database (dropped afterwards) and compare row counts; connects',
    },
  },
  async run(context) {
    const path = resolve(context.io.cwd, context.positionals[0] ?? '');
    const trialRestore = context.values['trial-restore'] === true;
    const connection = trialRestore ? backupConnection(await context.database()) : {};
    const bar = trialRestore ? context.progress('verifying') : undefined;
    bar?.update(0, undefined, 'trial restore');
    const result = await verifyBackup(path, { ...connection, trialRestore, signal: context.signal });
    bar?.stop();
    const text = result.ok
      ? `ok: ${result.path}`
      : `FAILED: ${result.path}\n  ${result.problems.join('\n  ')}`;
    return result.ok ? ok({ ...result }, text) : problem({ ...result }, text);
  },
};
