/**
 * The `carebase` command (bin `dist/cli.js`, built by tsup from this file).
 *
 * How it is organised:
 * - `src/cli/commands/**` holds one command per file as a `CliCommand` (`path`, `summary`,
 *   `flags`, `database`, `run(context)`), listed once in `commands/index.ts`.
 * - `run-cli.ts` is the one runner: one flag parser (`node:util` parseArgs), the same connection
 *   flags (`--url` without a password, `--env-file`, `--schema`) and `--json`/`--help` on every
 *   command, help on stdout, one JSON document on stdout with `--json`, exit codes 0/1/2.
 * - `connection.ts` resolves the database (never from argv secrets; no default database).
 * - `progress.ts` is the one progress renderer (cli-progress, on a TTY only).
 * - Here: the process streams made EPIPE-safe, Ctrl-C turned into an AbortSignal.
 */
import { createRequire } from 'node:module';
import { COMMANDS } from './commands/index.js';
import { runCli } from './run-cli.js';
import { safeWritable } from './safe-stream.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

const controller = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  // First Ctrl-C: stop cleanly (pg_dump killed, partial files removed); second: leave now.
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort();
});

process.exitCode = await runCli(
  process.argv.slice(2),
  {
    stdout: safeWritable(process.stdout),
    stderr: safeWritable(process.stderr),
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  },
  COMMANDS,
  version,
);
