import { parseArgs } from 'node:util';
import { CarebaseError, MigrationError } from '../errors/errors.js';
import type { CliCommand, CommandContext, CommandOutcome } from './command.js';
import {
  type CliDatabase,
  CONNECTION_FLAGS,
  checkUrlFlag,
  hasDatabaseTarget,
  NO_DATABASE_HINT,
  openCliDatabase,
  runEnvironment,
} from './connection.js';
import type { FlagSpec } from './flags.js';
import type { CliIo } from './io.js';
import { createProgressBar } from './progress.js';
import { commandUsage, groupUsage, OUTPUT_FLAGS } from './usage.js';
import { UsageError } from './usage-error.js';

/** Exit codes of the `carebase` command. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

/** Error codes that mean "fix the invocation, the configuration or the connection": exit 2. */
const USAGE_CODES = new Set(['INVALID_CONFIGURATION', 'CONNECTION_FAILED', 'POOL_TIMEOUT']);

/**
 * Runs `carebase <argv>` and returns the exit code: 0 success, 1 the operation failed or found a
 * problem, 2 usage, configuration or connection error. Help goes to stdout; with `--json`,
 * stdout holds exactly one JSON document (the result, an error, or the help); diagnostics go to
 * stderr, never a stack trace for an expected failure, never a password.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: readonly CliCommand[],
  version: string,
): Promise<number> {
  const json = argv.includes('--json');
  const [first, second] = argv;
  if (first === '--version' || first === '-v') {
    io.stdout.write(json ? `${JSON.stringify({ ok: true, version })}\n` : `${version}\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help' || first === '--json') {
    printHelp(io, json, groupUsage(commands, undefined, version));
    return EXIT.ok;
  }
  const command =
    commands.find(
      (candidate) =>
        candidate.path.length === 2 && candidate.path[0] === first && candidate.path[1] === second,
    ) ?? commands.find((candidate) => candidate.path.length === 1 && candidate.path[0] === first);
  if (command === undefined) {
    const isGroup = commands.some((candidate) => candidate.path[0] === first);
    if (isGroup && (argv.includes('--help') || argv.includes('-h'))) {
      printHelp(io, json, groupUsage(commands, first, version));
      return EXIT.ok;
    }
    const message = isGroup
      ? second === undefined || second.startsWith('-')
        ? `carebase ${first}: missing command`
        : `carebase ${first}: unknown command: ${second}`
      : `carebase: unknown command: ${first}`;
    return usageFailure(io, json, message, groupUsage(commands, isGroup ? first : undefined, version));
  }
  const name = `carebase ${command.path.join(' ')}`;
  const usage = commandUsage(command);
  const rest = argv.slice(command.path.length);
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(rest, { ...command.flags, ...CONNECTION_FLAGS, ...OUTPUT_FLAGS }));
  } catch (error) {
    return usageFailure(io, json, `${name}: ${(error as Error).message}`, usage);
  }
  if (values.help === true) {
    printHelp(io, json, usage);
    return EXIT.ok;
  }
  let database: Promise<CliDatabase> | undefined;
  const controller = new AbortController();
  const signal = io.signal ?? controller.signal;
  const bars: { stop(): void }[] = [];
  try {
    checkUrlFlag(typeof values.url === 'string' ? values.url : undefined);
    if (positionals.length < command.positionals.min) {
      throw new UsageError(`missing ${command.args ?? 'argument'}`);
    }
    if (positionals.length > command.positionals.max) {
      throw new UsageError(`unexpected argument: ${positionals[command.positionals.max]}`);
    }
    const env = runEnvironment(io, values);
    if (command.database === 'required' && !hasDatabaseTarget(env, values)) {
      throw new UsageError(NO_DATABASE_HINT, false);
    }
    const context: CommandContext = {
      io: { ...io, env },
      values,
      positionals,
      json,
      signal,
      database() {
        database ??= openCliDatabase(io, env, values);
        return database;
      },
      progress(label) {
        const bar = createProgressBar(io.stderr, label);
        bars.push(bar);
        return bar;
      },
      note(text) {
        io.stderr.write(`${text.endsWith('\n') ? text : `${text}\n`}`);
      },
    };
    const outcome = await command.run(context);
    for (const bar of bars) bar.stop();
    print(io, json, outcome);
    return outcome.exitCode;
  } catch (error) {
    for (const bar of bars) bar.stop();
    return failure(io, json, name, usage, error);
  } finally {
    await database?.then((open) => open.close()).catch(() => {});
  }
}

function parseFlags(args: readonly string[], flags: Readonly<Record<string, FlagSpec>>) {
  const options = Object.fromEntries(
    Object.entries(flags).map(([key, spec]) => [
      key,
      spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short },
    ]),
  ) as Record<string, { type: 'string' | 'boolean'; short?: string }>;
  const parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
}

function printHelp(io: CliIo, json: boolean, text: string): void {
  io.stdout.write(json ? `${JSON.stringify({ ok: true, help: text }, null, 2)}\n` : text);
}

function print(io: CliIo, json: boolean, outcome: CommandOutcome): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ ok: outcome.exitCode === 0, ...outcome.json }, null, 2)}\n`);
  } else if (outcome.text !== '') {
    io.stdout.write(outcome.text.endsWith('\n') ? outcome.text : `${outcome.text}\n`);
  }
}

function usageFailure(io: CliIo, json: boolean, message: string, usage: string): number {
  if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'USAGE', message } }, null, 2)}\n`);
  io.stderr.write(`${message}\n\n${usage}`);
  return EXIT.usage;
}

function failure(io: CliIo, json: boolean, name: string, usage: string, error: unknown): number {
  if (error instanceof UsageError) {
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ ok: false, error: { code: 'USAGE', message: error.message } }, null, 2)}\n`,
      );
    }
    io.stderr.write(
      error.showUsage ? `${name}: ${error.message}\n\n${usage}` : `${name}: ${error.message}\n`,
    );
    return EXIT.usage;
  }
  if (error instanceof CarebaseError) {
    const code = USAGE_CODES.has(error.code) ? EXIT.usage : EXIT.failure;
    const results = error instanceof MigrationError ? error.results : [];
    if (json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            ok: false,
            error: {
              code: error.code,
              message: error.message,
              ...(error instanceof MigrationError ? { migration: error.migration, results } : {}),
            },
          },
          null,
          2,
        )}\n`,
      );
    }
    io.stderr.write(`${name}: ${error.message}\n`);
    for (const result of results as readonly { namespace?: string; name?: string; status?: string }[]) {
      io.stderr.write(`  ${result.status ?? '?'}  ${result.namespace ?? '?'}/${result.name ?? '?'}\n`);
    }
    return code;
  }
  const system = typeof (error as { syscall?: unknown } | null)?.syscall === 'string';
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ ok: false, error: { code: system ? 'SYSTEM' : 'UNEXPECTED', message } }, null, 2)}\n`,
    );
  }
  if (system) {
    io.stderr.write(`${name}: ${message}\n`);
  } else {
    io.stderr.write(`${name}: unexpected error (a bug; please report it)\n`);
    io.stderr.write(`${error instanceof Error ? (error.stack ?? message) : message}\n`);
  }
  return EXIT.failure;
}
