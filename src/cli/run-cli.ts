import { CarebaseError, MigrationError } from '../errors/errors.js';
import { type CliCommand, type CliIo, UsageError } from './command.js';

/** Exit codes of the `carebase` command. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

/**
 * Dispatches `argv` (the arguments after `carebase`) to a command and returns the exit code:
 * 0 success, 1 failure, 2 usage or configuration error. Expected failures (carebase errors) print
 * one message, no stack trace; unexpected errors print their stack.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), io, COMMANDS, version);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: readonly CliCommand[],
  version: string,
): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage(commands, version));
    return EXIT.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.stderr.write(`carebase: unknown command: ${name}\n\n${usage(commands, version)}`);
    return EXIT.usage;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`carebase ${command.name}: ${error.message}\n\n${command.usage}`);
      return EXIT.usage;
    }
    if (error instanceof CarebaseError) {
      io.stderr.write(`carebase ${command.name}: ${error.message}\n`);
      if (error instanceof MigrationError) {
        for (const result of error.results as readonly {
          namespace?: string;
          name?: string;
          status?: string;
        }[]) {
          io.stderr.write(`  ${result.status ?? '?'}  ${result.namespace ?? '?'}/${result.name ?? '?'}\n`);
        }
      }
      return error.code === 'INVALID_CONFIGURATION' || error.code === 'VALIDATION_FAILED'
        ? EXIT.usage
        : EXIT.failure;
    }
    io.stderr.write(`carebase ${command.name}: unexpected error (a bug; please report it)\n`);
    io.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failure;
  }
}

function usage(commands: readonly CliCommand[], version: string): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `carebase ${version}

Usage: carebase <command> [options]      carebase <command> --help for its options

Commands:
${lines.join('\n')}

Connection: DATABASE_URL (or DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD, DB_SSL), CAREBASE_SCHEMA;
--url and --schema override them.
Exit codes: 0 success, 1 failure, 2 usage or configuration error.
`;
}
