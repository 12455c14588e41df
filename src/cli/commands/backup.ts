import { parseArgs } from 'node:util';
import {
  type BackupProgress,
  createBackup,
  listBackups,
  pruneBackups,
  type RestoreProgress,
  restoreBackup,
  verifyBackup,
} from '../../backup/index.js';
import { configFromEnv } from '../../config/from-env.js';
import type { CarebaseOptions } from '../../config/options.js';
import { isCarebaseError } from '../../errors/errors.js';

/** Where a command writes, and whether stderr is a terminal (progress bars only then). */
export interface CommandIO {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  readonly isTTY: boolean;
  /** Environment to read `DATABASE_URL`, `DB_*`, `BACKUP_DIR` from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Cancels the running command (the CLI wires SIGINT to it). */
  readonly signal?: AbortSignal;
}

/** The backup subcommands. */
export type BackupSubcommand = 'create' | 'list' | 'verify' | 'restore' | 'prune';

/** `carebase backup ...` arguments, parsed. */
export interface ParsedBackupArgs {
  readonly subcommand: BackupSubcommand;
  readonly path: string | undefined;
  readonly json: boolean;
  readonly dir: string | undefined;
  readonly name: string | undefined;
  readonly compression: number | undefined;
  readonly trialRestore: boolean;
  readonly mode: 'new' | 'replace';
  readonly target: string | undefined;
  readonly terminateConnections: boolean;
  readonly jobs: number | undefined;
  readonly keepLast: number | undefined;
  readonly maxAgeDays: number | undefined;
  readonly dryRun: boolean;
}

/** A command-line mistake: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The usage text of `carebase backup`. */
export const BACKUP_USAGE = `Usage: carebase backup <command> [options]

Commands:
  create                 pg_dump -Fc into the backup dir, with a checksummed manifest
    --dir DIR              (default: $BACKUP_DIR or ./backups)
    --name NAME            base file name (default: <database>-<UTC time>)
    --compression 0-9
  list                   the catalog, newest first
    --dir DIR
  verify FILE            checksum + pg_restore --list
    --trial-restore        also restore into a scratch database and compare row counts
  restore FILE           restore into a new database (the live one is untouched)
    --mode new|replace     replace: restore, check, then swap in by rename (keeps the old one)
    --target NAME          new: database to create; replace: database to replace
    --terminate-connections  replace: end other sessions instead of refusing
    --jobs N               parallel pg_restore jobs
  prune                  delete old backups (never the newest verified one)
    --dir DIR --keep-last N (10) --max-age-days N (30) --dry-run

Options for every command:
  --json                 print the result as JSON on stdout
  --help

The connection comes from DATABASE_URL or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD (never
from the command line, where the process list would show a password).
`;

const SUBCOMMANDS: readonly BackupSubcommand[] = ['create', 'list', 'verify', 'restore', 'prune'];

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/**
 * Parses `carebase backup` arguments (without the leading `backup`). Throws {@link UsageError}
 * for unknown commands or options, missing or extra file arguments, and malformed numbers.
 *
 * @example
 * ```ts
 * const args = parseBackupArgs(['restore', 'app.dump', '--mode', 'replace']);
 * ```
 */
export function parseBackupArgs(argv: readonly string[]): ParsedBackupArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        dir: { type: 'string' },
        name: { type: 'string' },
        compression: { type: 'string' },
        'trial-restore': { type: 'boolean' },
        mode: { type: 'string' },
        target: { type: 'string' },
        'terminate-connections': { type: 'boolean' },
        jobs: { type: 'string' },
        'keep-last': { type: 'string' },
        'max-age-days': { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [subcommand, ...rest] = positionals;
  if (values.help === true) throw new UsageError('');
  if (subcommand === undefined) throw new UsageError('missing command');
  if (!SUBCOMMANDS.includes(subcommand as BackupSubcommand))
    throw new UsageError(`unknown command: ${subcommand}`);
  const needsPath = subcommand === 'verify' || subcommand === 'restore';
  if (needsPath && rest.length !== 1) throw new UsageError(`${subcommand} takes exactly one archive file`);
  if (!needsPath && rest.length > 0) throw new UsageError(`${subcommand} takes no file argument`);
  const mode = (values.mode as string | undefined) ?? 'new';
  if (mode !== 'new' && mode !== 'replace') throw new UsageError('--mode must be new or replace');
  const str = (key: string): string | undefined => values[key] as string | undefined;
  const maxAge = str('max-age-days');
  if (maxAge !== undefined && !/^\d+(\.\d+)?$/.test(maxAge)) {
    throw new UsageError('--max-age-days must be a non-negative number');
  }
  return {
    subcommand: subcommand as BackupSubcommand,
    path: rest[0],
    json: values.json === true,
    dir: str('dir'),
    name: str('name'),
    compression: intOption(str('compression'), 'compression', 0, 9),
    trialRestore: values['trial-restore'] === true,
    mode,
    target: str('target'),
    terminateConnections: values['terminate-connections'] === true,
    jobs: intOption(str('jobs'), 'jobs', 1, 64),
    keepLast: intOption(str('keep-last'), 'keep-last', 0, 1_000_000),
    maxAgeDays: maxAge === undefined ? undefined : Number(maxAge),
    dryRun: values['dry-run'] === true,
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

const BAR_WIDTH = 24;

/** A bar for a known fraction, or a moving block when the total is unknown. */
function bar(fraction: number | undefined, tick: number): string {
  if (fraction !== undefined) {
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  }
  const at = tick % (BAR_WIDTH - 4);
  return `[${'-'.repeat(at)}####${'-'.repeat(BAR_WIDTH - 4 - at)}]`;
}

function progressLine(io: CommandIO): { update(text: string): void; done(): void } {
  let drawn = false;
  return {
    update(text) {
      if (!io.isTTY) return;
      io.stderr.write(`\r\x1b[2K${text}`);
      drawn = true;
    },
    done() {
      if (drawn) io.stderr.write('\r\x1b[2K');
    },
  };
}

function print(io: CommandIO, json: boolean, value: unknown, text: string): void {
  io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

async function run(args: ParsedBackupArgs, io: CommandIO, connection: CarebaseOptions): Promise<number> {
  const signal = io.signal;
  const common = { ...connection, ...(args.dir === undefined ? {} : { backupDir: args.dir }) };
  const line = progressLine(io);
  let tick = 0;
  try {
    switch (args.subcommand) {
      case 'create': {
        const backup = await createBackup({
          ...common,
          ...(args.name === undefined ? {} : { name: args.name }),
          ...(args.compression === undefined ? {} : { compression: args.compression }),
          ...(signal === undefined ? {} : { signal }),
          onProgress: (p: BackupProgress) => {
            const seconds = p.elapsedMs / 1000;
            const rate = seconds > 0 ? ` ${megabytes(p.bytesWritten / seconds)}/s` : '';
            line.update(
              `${p.phase} ${bar(p.phase === 'dumping' ? undefined : 1, tick++)} ${megabytes(p.bytesWritten)}${rate} ${seconds.toFixed(1)}s`,
            );
          },
        });
        line.done();
        print(
          io,
          args.json,
          backup,
          `${backup.path} (${megabytes(backup.manifest.sizeBytes)}, sha256 ${backup.manifest.sha256})`,
        );
        return 0;
      }
      case 'list': {
        const { items } = await listBackups({
          ...(common.backupDir === undefined ? {} : { dir: common.backupDir }),
        });
        const text =
          items.length === 0
            ? 'no backups'
            : items
                .map(
                  (item) =>
                    `${item.createdAt.toISOString()}  ${megabytes(item.sizeBytes).padStart(10)}  ${item.status.padEnd(16)}  ${item.name}`,
                )
                .join('\n');
        print(io, args.json, items, text);
        return 0;
      }
      case 'verify': {
        if (args.trialRestore) line.update(`verifying ${bar(undefined, tick++)}`);
        const result = await verifyBackup(args.path ?? '', {
          ...connection,
          trialRestore: args.trialRestore,
          ...(signal === undefined ? {} : { signal }),
        });
        line.done();
        print(
          io,
          args.json,
          result,
          result.ok ? `ok: ${result.path}` : `FAILED: ${result.path}\n  ${result.problems.join('\n  ')}`,
        );
        return result.ok ? 0 : 1;
      }
      case 'restore': {
        const result = await restoreBackup(args.path ?? '', {
          ...connection,
          mode: args.mode,
          terminateConnections: args.terminateConnections,
          ...(args.target === undefined ? {} : { target: args.target }),
          ...(args.jobs === undefined ? {} : { jobs: args.jobs }),
          ...(signal === undefined ? {} : { signal }),
          onProgress: (p: RestoreProgress) => {
            const fraction = p.itemsTotal > 0 ? p.itemsDone / p.itemsTotal : undefined;
            line.update(
              `${p.phase} ${bar(fraction, tick++)} ${p.itemsDone}/${p.itemsTotal} items ${(p.elapsedMs / 1000).toFixed(1)}s`,
            );
          },
        });
        line.done();
        const previous =
          result.previousDatabase === undefined
            ? ''
            : `\nprevious database kept as ${result.previousDatabase}`;
        print(io, args.json, result, `restored into ${result.displayUrl}${previous}`);
        return 0;
      }
      case 'prune': {
        const result = await pruneBackups({
          ...(common.backupDir === undefined ? {} : { dir: common.backupDir }),
          ...(args.keepLast === undefined ? {} : { keepLast: args.keepLast }),
          ...(args.maxAgeDays === undefined ? {} : { maxAgeDays: args.maxAgeDays }),
          dryRun: args.dryRun,
        });
        const verb = result.dryRun ? 'would delete' : 'deleted';
        print(
          io,
          args.json,
          result,
          `${verb} ${result.deleted.length} backup(s), kept ${result.kept.length}${result.deleted.map((d) => `\n  ${d.name}`).join('')}`,
        );
        return 0;
      }
    }
  } catch (error) {
    line.done();
    const code = isCarebaseError(error) ? error.code : 'CAREBASE_ERROR';
    const message = error instanceof Error ? error.message : String(error);
    if (args.json) io.stdout.write(`${JSON.stringify({ ok: false, error: { code, message } }, null, 2)}\n`);
    io.stderr.write(`carebase backup ${args.subcommand}: ${message} (${code})\n`);
    return 1;
  }
}

/**
 * Runs `carebase backup <create|list|verify|restore|prune> [options]` and resolves with the exit
 * code: 0 success, 1 failure (including an archive that failed verification), 2 usage error.
 * Progress bars go to stderr only when `io.isTTY`; `--json` prints the result as JSON on stdout.
 * Never throws.
 *
 * @example
 * ```ts
 * const code = await backupCommand(process.argv.slice(3), {
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 *   isTTY: process.stderr.isTTY === true,
 * });
 * process.exitCode = code;
 * ```
 */
export async function backupCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  let args: ParsedBackupArgs;
  try {
    args = parseBackupArgs(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message !== '') io.stderr.write(`carebase backup: ${message}\n\n`);
    io.stderr.write(BACKUP_USAGE);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
  }
  let connection: CarebaseOptions;
  try {
    connection = configFromEnv(io.env ?? process.env);
  } catch (error) {
    io.stderr.write(`carebase backup: ${(error as Error).message}\n`);
    return 2;
  }
  // Only the fields backups use (pool sizes and the like do not apply).
  const { pool: _pool, ...rest } = connection;
  return run(args, io, rest);
}
