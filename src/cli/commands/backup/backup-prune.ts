import { type PruneKeepReason, pruneBackups } from '../../../backup/prune-backups.js';
import { type CliCommand, ok } from '../../command.js';
import { integerFlag, stringFlag } from '../../flags.js';
import { UsageError } from '../../usage-error.js';
import { backupDir, DIR_FLAG } from './backup-options.js';

/** `carebase backup prune`: retention; never deletes the newest verified backup. Says why each one is kept. */
export const backupPruneCommand: CliCommand = {
  path: ['backup', 'prune'],
  summary: 'delete old backups (never the newest verified one), saying why each kept one stays',
  positionals: { min: 0, max: 0 },
  database: 'none',
  flags: {
    ...DIR_FLAG,
    'keep-last': { type: 'string', value: 'N', description: 'always keep the N newest (default 10)' },
    'max-age-days': {
      type: 'string',
      value: 'DAYS',
      description:
        'always keep backups younger than this (default 30); a backup goes only when both rules let it',
    },
    'dry-run': { type: 'boolean', description: 'say what would be deleted; delete nothing' },
  },
  async run(context) {
    const keepLast = integerFlag(context.values, 'keep-last', 0, 1_000_000);
    const maxAge = stringFlag(context.values, 'max-age-days');
    if (maxAge !== undefined && !/^\d+(\.\d+)?$/.test(maxAge)) {
      throw new UsageError('--max-age-days must be a non-negative number');
    }
    const maxAgeDays = maxAge === undefined ? undefined : Number(maxAge);
    const result = await pruneBackups({
      dir: backupDir(context),
      dryRun: context.values['dry-run'] === true,
      ...(keepLast === undefined ? {} : { keepLast }),
      ...(maxAgeDays === undefined ? {} : { maxAgeDays }),
    });
    const reasons: Record<PruneKeepReason, string> = {
      'keep-last': `one of the ${keepLast ?? 10} newest (--keep-last)`,
      'max-age-days': `younger than ${maxAgeDays ?? 30} days (--max-age-days)`,
      'newest-verified': 'the newest backup that verifies',
    };
    const verb = result.dryRun ? 'would delete' : 'deleted';
    const lines = [
      `${verb} ${result.deleted.length} backup${result.deleted.length === 1 ? '' : 's'}, kept ${result.kept.length}`,
      ...result.deleted.map((entry) => `  ${verb}: ${entry.name}`),
      ...result.kept.map(
        (entry) => `  kept: ${entry.name}: ${entry.keptBecause.map((reason) => reasons[reason]).join('; ')}`,
      ),
    ];
    return ok({ ...result }, lines.join('\n'));
  },
};
