/** Where a command writes, and what it reads besides its arguments. Injected so tests need no globals. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/**
 * One top-level `carebase` command (`migrate`, `backup`, `audit`, `import`, `doctor`). Lives in
 * its own file in `src/cli/commands/` and is listed once in `COMMANDS`.
 *
 * `run` receives the arguments after the command name and returns the exit code (0 success,
 * 1 failure). It throws `UsageError` for bad arguments (exit 2, with the command's usage), and
 * carebase errors for expected failures (exit 1, message only, no stack trace). Anything else is
 * treated as a bug and printed with its stack.
 *
 * @example
 * ```ts
 * export const doctorCommand: CliCommand = {
 *   name: 'doctor',
 *   summary: 'check the connection, versions, pg_dump and migrations',
 *   usage: 'carebase doctor [--url URL] [--json]',
 *   async run(args, io) {
 *     io.stdout.write('ok\n');
 *     return 0;
 *   },
 * };
 * ```
 */
export interface CliCommand {
  /** The word after `carebase`. */
  readonly name: string;
  /** One line for `carebase --help`. */
  readonly summary: string;
  /** The full usage text, printed by `carebase <name> --help` and after a usage error. */
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/**
 * Bad command-line usage: unknown option, missing argument, malformed number. The CLI prints the
 * message and the command's usage and exits with code 2.
 *
 * @example
 * ```ts
 * if (name === undefined) throw new UsageError('migrate create needs a name');
 * ```
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
