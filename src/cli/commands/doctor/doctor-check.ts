import type pg from 'pg';
import type { ResolvedConfig } from '../../../config/resolve.js';
import type { MigrationSource } from '../../../migration/types.js';

/** The verdict of one doctor check: `warn` and `fail` need action (exit 1). */
export type CheckStatus = 'ok' | 'info' | 'warn' | 'fail';

/** What one doctor check found. */
export interface CheckResult {
  /** Stable id, e.g. `server-version`. */
  readonly id: string;
  readonly status: CheckStatus;
  /** One line. */
  readonly summary: string;
  /** More lines, e.g. one per missing grant. */
  readonly details?: readonly string[];
  /** What to do about it. */
  readonly hint?: string;
}

/** What every check receives. */
export interface DoctorContext {
  readonly pool: pg.Pool;
  readonly config: ResolvedConfig;
  /** The role whose privileges are checked: `--app-role`, else the connected user. */
  readonly appRole: string | undefined;
  /** Host sources (after carebase's own) whose migrations are checked. */
  readonly sources: readonly MigrationSource[];
  /** The server's major version, once the connection check has run. */
  serverMajor: number;
}

/** One check: a function of the context, run in order. */
export type DoctorCheck = (context: DoctorContext) => Promise<CheckResult | readonly CheckResult[]>;
