import { findPgTools } from '../../../backup/pg-tools.js';
import { isCarebaseError } from '../../../errors/errors.js';
import type { CheckResult, DoctorContext } from './doctor-check.js';

/** pg_dump and pg_restore: found, and at least as new as the server (else backups fail). */
export async function checkTools(context: DoctorContext): Promise<CheckResult> {
  try {
    const tools = await findPgTools({ minMajor: context.serverMajor });
    return {
      id: 'pg-tools',
      status: 'ok',
      summary: `pg_dump and pg_restore ${tools.version} in ${tools.dir} (server major ${context.serverMajor})`,
    };
  } catch (error) {
    if (!isCarebaseError(error)) throw error;
    return {
      id: 'pg-tools',
      status: 'warn',
      summary: `backups cannot run: ${error.message}`,
      hint: `install the PostgreSQL ${context.serverMajor} client tools (or newer), or point PG_BIN_DIR at them`,
    };
  }
}
