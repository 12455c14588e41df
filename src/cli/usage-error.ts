/**
 * Bad command-line usage: unknown option, missing argument, malformed number, a password in a
 * URL flag. The CLI prints the message (and the command's usage) and exits with code 2.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    /** Print the command's usage after the message. */
    readonly showUsage = true,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
