/** A stream the CLI writes to. */
export interface CliWritable {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

/**
 * Everything a command reads and writes besides its arguments: the one io type of the CLI,
 * injected so tests need no globals.
 */
export interface CliIo {
  /** Results: text, or one JSON document with `--json`. */
  readonly stdout: CliWritable;
  /** Diagnostics, prompts and progress (only when it is a TTY). */
  readonly stderr: CliWritable;
  /** For the password prompt; prompts only when it is a TTY. */
  readonly stdin?: NodeJS.ReadableStream & { readonly isTTY?: boolean | undefined };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Fires on Ctrl-C; long commands stop cleanly. */
  readonly signal?: AbortSignal | undefined;
}
