import { migrationStatus } from '../../../migration/status.js';
import type { CheckResult, DoctorContext } from './doctor-check.js';

/** Pending and drifted (edited or missing) migrations, per namespace. */
export async function checkMigrations(context: DoctorContext): Promise<CheckResult> {
  const statuses = await migrationStatus(context.pool, {
    schema: context.config.schema,
    sources: context.sources,
  });
  const details: string[] = [];
  let pending = 0;
  let drifted = 0;
  for (const status of statuses) {
    pending += status.pending.length;
    drifted += status.changed.length + status.missing.length;
    const parts = [`${status.applied.length} applied`, `${status.pending.length} pending`];
    if (status.changed.length > 0) parts.push(`edited after applying: ${status.changed.join(', ')}`);
    if (status.missing.length > 0)
      parts.push(`applied but missing from the source: ${status.missing.join(', ')}`);
    details.push(`${status.namespace}: ${parts.join('; ')}`);
  }
  const namespaces = statuses.map((status) => status.namespace).join(', ');
  if (drifted > 0) {
    return {
      id: 'migrations',
      status: 'fail',
      summary: `${drifted} migration${drifted === 1 ? '' : 's'} drifted (${namespaces})`,
      details,
      hint: 'an applied migration was edited or deleted: restore it, and write the change as a new migration',
    };
  }
  if (pending > 0) {
    return {
      id: 'migrations',
      status: 'warn',
      summary: `${pending} pending (${namespaces})`,
      details,
      hint: 'run: carebase migrate up (with --dir/--namespace for your own)',
    };
  }
  return { id: 'migrations', status: 'ok', summary: `all applied (${namespaces})`, details };
}
