import { resolve } from 'node:path';
import { fileMigrations } from '../../../migration/file-source.js';
import type { MigrationProgress, MigrationSource } from '../../../migration/types.js';
import { type FlagSpec, integerFlag, stringFlag } from '../../flags.js';
import type { ProgressBar } from '../../progress.js';
import { UsageError } from '../../usage-error.js';

type Values = Readonly<Record<string, string | boolean | undefined>>;

/** `--dir` and `--namespace`: a host migration folder. */
export const HOST_FLAGS: Readonly<Record<string, FlagSpec>> = {
  dir: {
    type: 'string',
    value: 'DIR',
    description: "a host app's migration folder, run after carebase's own",
  },
  namespace: {
    type: 'string',
    value: 'NS',
    description: "that folder's history namespace (required with --dir)",
  },
};

/** The flags of runs that take locks: the runner lock wait and the per-statement lock policy. */
export const RUN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'lock-timeout': {
    type: 'string',
    value: 'MS',
    description: 'how long to wait for another migration runner or a running backup (default 60000)',
  },
  'table-lock-timeout': {
    type: 'string',
    value: 'MS',
    description: 'PostgreSQL lock_timeout of each statement: the longest it may block readers (default 5000)',
  },
  'table-lock-attempts': {
    type: 'string',
    value: 'N',
    description: 'tries of a migration that timed out waiting for a lock, with backoff (default 3)',
  },
  'statement-timeout': {
    type: 'string',
    value: 'MS',
    description: 'PostgreSQL statement_timeout of each statement (default 0: none)',
  },
};

/** The host source of `--dir`/`--namespace`, or undefined. Throws `UsageError` when only one is given. */
export function hostSource(values: Values, cwd: string): MigrationSource | undefined {
  const dir = stringFlag(values, 'dir');
  const namespace = stringFlag(values, 'namespace');
  if (dir === undefined && namespace === undefined) return undefined;
  if (dir === undefined || namespace === undefined) throw new UsageError('--dir and --namespace go together');
  try {
    return fileMigrations(resolve(cwd, dir), { namespace });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'invalid --namespace');
  }
}

/** The run options of {@link RUN_FLAGS}. */
export function runOptions(values: Values): {
  lockTimeoutMs?: number;
  tableLockTimeoutMs?: number;
  tableLockAttempts?: number;
  statementTimeoutMs?: number;
} {
  const lockTimeoutMs = integerFlag(values, 'lock-timeout', 0);
  const tableLockTimeoutMs = integerFlag(values, 'table-lock-timeout', 0);
  const tableLockAttempts = integerFlag(values, 'table-lock-attempts', 1, 100);
  const statementTimeoutMs = integerFlag(values, 'statement-timeout', 0);
  return {
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    ...(tableLockTimeoutMs === undefined ? {} : { tableLockTimeoutMs }),
    ...(tableLockAttempts === undefined ? {} : { tableLockAttempts }),
    ...(statementTimeoutMs === undefined ? {} : { statementTimeoutMs }),
  };
}

/** Moves a progress bar along a migration run: one step per migration, named namespace/name. */
export function showProgress(bar: ProgressBar): (progress: MigrationProgress) => void {
  return (progress) =>
    bar.update(
      progress.index + (progress.phase === 'done' ? 1 : 0),
      progress.total,
      `${progress.namespace}/${progress.name}`,
    );
}

/**
 * `DIRECT_DATABASE_URL` (the server itself, past any pooler) for a migration run, unless `--url`
 * names the database explicitly.
 */
export function directUrlOf(
  database: { readonly config: { readonly directUrl: { reveal(): string } | undefined } },
  values: Readonly<Record<string, unknown>>,
): { directUrl?: string } {
  if (typeof values.url === 'string' || database.config.directUrl === undefined) return {};
  return { directUrl: database.config.directUrl.reveal() };
}
