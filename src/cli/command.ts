import type { CliDatabase } from './connection.js';
import type { FlagSpec } from './flags.js';
import type { CliIo } from './io.js';
import type { ProgressBar } from './progress.js';

/** What a command returns: the exit code and its result, as JSON and as text. */
export interface CommandOutcome {
  /** 0 success, 1 the operation failed or found a problem. */
  readonly exitCode: 0 | 1;
  /** Printed with `--json` (with `ok` added), as one document. */
  readonly json: Readonly<Record<string, unknown>>;
  /** Printed otherwise (a trailing newline is added when missing; empty prints nothing). */
  readonly text: string;
}

/** What a command's `run` receives. */
export interface CommandContext {
  readonly io: CliIo;
  /** Parsed flags: strings and booleans, by long name. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly json: boolean;
  readonly signal: AbortSignal;
  /** The database of the run; throws (exit 2, one-line hint) when none is configured. */
  database(): Promise<CliDatabase>;
  /** A progress bar on stderr when it is a TTY, a no-op otherwise. */
  progress(label: string): ProgressBar;
  /** A note on stderr (never with the result on stdout). */
  note(text: string): void;
}

/**
 * One `carebase` command (`migrate up`, `backup list`, `doctor`, ...). Each lives in its own file
 * under `src/cli/commands/` and is listed once in `COMMANDS`; the runner gives every command the
 * same connection flags, `--json`, `--help`, exit codes and error handling.
 */
export interface CliCommand {
  /** `['migrate', 'up']`, or `['doctor']`. */
  readonly path: readonly string[];
  /** One line for the list of commands. */
  readonly summary: string;
  /** Positional arguments as help shows them, e.g. `FILE`. */
  readonly args?: string;
  readonly positionals: { readonly min: number; readonly max: number };
  /** The command's own flags (the connection flags, `--json` and `--help` are added). */
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Whether it connects: `optional` commands connect only for some flags. */
  readonly database: 'required' | 'optional' | 'none';
  /** More help text, after the flags. */
  readonly details?: string;
  run(context: CommandContext): Promise<CommandOutcome>;
}

/** A successful outcome. */
export function ok(json: Record<string, unknown>, text: string): CommandOutcome {
  return { exitCode: 0, json, text };
}

/** An outcome that found a problem (exit 1), with its result. */
export function problem(json: Record<string, unknown>, text: string): CommandOutcome {
  return { exitCode: 1, json, text };
}
