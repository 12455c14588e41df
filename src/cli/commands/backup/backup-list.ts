import { listBackups } from '../../../backup/list-backups.js';
import { type CliCommand, ok } from '../../command.js';
import { formatTable } from '../../format-table.js';
import { backupDir, DIR_FLAG, megabytes } from './backup-options.js';

/** `carebase backup list`: the backup catalog, newest first. Reads files only. */
export const backupListCommand: CliCommand = {
  path: ['backup', 'list'],
  summary: 'the backup catalog, newest first (reads files only)',
  positionals: { min: 0, max: 0 },
  database: 'none',
  flags: { ...DIR_FLAG },
  async run(context) {
    const dir = backupDir(context);
    const items = [];
    let cursor: string | undefined;
    do {
      const page = await listBackups({ dir, limit: 500, ...(cursor === undefined ? {} : { cursor }) });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const text =
      items.length === 0
        ? `no backups in ${dir}`
        : formatTable(
            ['created', 'size', 'status', 'name'],
            items.map((item) => [
              item.createdAt.toISOString(),
              megabytes(item.sizeBytes),
              item.status,
              item.name,
            ]),
          );
    return ok({ dir, items }, text);
  },
};
