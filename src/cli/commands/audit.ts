import { parseArgs } from 'node:util';
import { createCarebase } from '../../carebase.js';
import { configFromEnv } from '../../config/from-env.js';
import { isCarebaseError } from '../../errors/errors.js';
import type { CliCommand } from '../command.js';

/** The streams and environment a CLI command runs with. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
}

export const AUDIT_USAGE = `Usage: carebase audit verify [--from DATE] [--to DATE] [--database-url URL] [--schema NAME]

Seals pending audit entries, then recomputes the hash chains of the months overlapping
[--from, --to) (default: all). Connection from DATABASE_URL / DB_* / CAREBASE_SCHEMA.

Exit codes: 0 the log verifies, 1 tampering found (the first bad entry id is printed),
2 usage or connection error.
`;

function parseDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`--${name} must be a date (e.g. 2026-01-01)`);
  return date;
}

/**
 * `carebase audit verify`: verifies the audit log's hash chains and exits 0 when intact, 1 when
 * an entry was altered, removed or inserted out of band (printing the first bad entry id and the
 * reason), 2 for usage or connection errors. Never prints entry contents or the password.
 *
 * Concurrency: safe to run while the application writes; entries committed during the run are
 * checked by the next run.
 *
 * @example
 * ```ts
 * const code = await auditCommand(['verify', '--from', '2026-01-01'], {
 *   stdout: process.stdout, stderr: process.stderr, isTTY: false, env: process.env,
 * });
 * ```
 */
export async function auditCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = (args: string[]) =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  let from: Date | undefined;
  let to: Date | undefined;
  try {
    parsed = parse(argv);
    from = parseDate(parsed.values.from, 'from');
    to = parseDate(parsed.values.to, 'to');
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${AUDIT_USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.stdout.write(AUDIT_USAGE);
    return 0;
  }
  if (parsed.positionals[0] !== 'verify' || parsed.positionals.length !== 1) {
    io.stderr.write(AUDIT_USAGE);
    return 2;
  }
  const env = { ...io.env };
  if (parsed.values['database-url'] !== undefined) env.DATABASE_URL = parsed.values['database-url'];
  if (parsed.values.schema !== undefined) env.CAREBASE_SCHEMA = parsed.values.schema;
  try {
    await using cb = createCarebase({ ...configFromEnv(env), pool: { min: 0, max: 2 } });
    const result = await cb.audit.verify({
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    if (result.ok) {
      io.stdout.write(`audit log ok: ${result.checked} entries verified\n`);
      return 0;
    }
    io.stdout.write(
      `audit log TAMPERED: first bad entry id ${result.firstBadId} (${result.reason}); ${result.checked} entries verified before it\n`,
    );
    return 1;
  } catch (error) {
    const code = isCarebaseError(error) ? error.code : 'ERROR';
    io.stderr.write(`carebase audit verify failed: ${code}: ${(error as Error).message}\n`);
    return 2;
  }
}

/** `carebase audit verify`, as registered in the CLI. */
export const auditCliCommand: CliCommand = {
  name: 'audit',
  summary: 'verify the tamper-evident audit chain (exit 1 and the first bad id when tampered)',
  usage: AUDIT_USAGE,
  run: (args, io) =>
    auditCommand([...args], {
      stdout: io.stdout as NodeJS.WritableStream,
      stderr: io.stderr as NodeJS.WritableStream,
      isTTY: io.stdout.isTTY === true,
      env: io.env as NodeJS.ProcessEnv,
    }),
};
