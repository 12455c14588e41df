import { migrationStatus } from '../../../migration/status.js';
import { type CliCommand, ok, problem } from '../../command.js';
import { formatTable } from '../../format-table.js';
import { HOST_FLAGS, hostSource } from './migrate-flags.js';

/** `carebase migrate status`: applied, pending, changed and missing migrations per namespace. */
export const migrateStatusCommand: CliCommand = {
  path: ['migrate', 'status'],
  summary: 'applied / pending / changed / missing migrations per namespace (exit 1 on drift)',
  positionals: { min: 0, max: 0 },
  database: 'required',
  flags: { ...HOST_FLAGS },
  async run(context) {
    const host = hostSource(context.values, context.io.cwd);
    const database = await context.database();
    const statuses = await migrationStatus(database.pool(), {
      schema: database.config.schema,
      sources: host === undefined ? [] : [host],
    });
    const rows: string[][] = [];
    for (const status of statuses) {
      const changed = new Set(status.changed);
      for (const applied of status.applied) {
        const state = status.missing.includes(applied.name)
          ? 'missing'
          : changed.has(applied.name)
            ? 'changed'
            : 'applied';
        rows.push([status.namespace, applied.name, state, applied.appliedAt.toISOString()]);
      }
      for (const name of status.pending) rows.push([status.namespace, name, 'pending', '']);
    }
    const pending = statuses.reduce((sum, status) => sum + status.pending.length, 0);
    const drifted = statuses.reduce((sum, status) => sum + status.changed.length + status.missing.length, 0);
    const text =
      `database ${database.config.connection.displayUrl}, schema ${database.config.schema}\n\n` +
      `${formatTable(['namespace', 'migration', 'state', 'applied at'], rows)}\n${pending} pending, ${drifted} changed or missing`;
    const json = {
      database: database.config.connection.displayUrl,
      schema: database.config.schema,
      pending,
      drifted,
      sources: statuses,
    };
    return drifted === 0 ? ok(json, text) : problem(json, text);
  },
};
