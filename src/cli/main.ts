/**
 * The `carebase` command (bin `dist/cli.js`, built by tsup from this file).
 *
 * How it is organised, so that each area adds its command without touching the others:
 * - `src/cli/commands/<name>.ts` holds one top-level command (`migrate`, `backup`, `audit`,
 *   `import`, `doctor`) as a `CliCommand`: `{ name, summary, usage, run(args, io) }`.
 * - `src/cli/commands/index.ts` lists them in `COMMANDS`: one import and one entry per command,
 *   under the marker comment of its area. Nothing else needs to change to add a command.
 * - `run(args, io)` gets the arguments after the command name and an `io` (stdout, stderr, env,
 *   cwd) and returns an exit code. Parse flags with `parseFlags` (`src/cli/args.ts`; add
 *   `CONNECTION_FLAGS` for `--url`/`--schema`) and connect with `openDatabase`
 *   (`src/cli/database-target.ts`: env via `configFromEnv`, overridden by flags; never prints the
 *   password). Render tables with `formatTable`.
 * - Errors: throw `UsageError` for bad arguments (exit 2, usage printed); let carebase errors
 *   propagate (exit 1, one line, no stack; `InvalidConfigurationError`/`ValidationError` exit 2).
 *   Anything else is a bug: exit 1 with its stack. `runCli` (`src/cli/run-cli.ts`) does this.
 * - Output: results to stdout (`--json` for machines), diagnostics to stderr; progress only when
 *   `io.stdout.isTTY`.
 */
import { createRequire } from 'node:module';
import { COMMANDS } from './commands/index.js';
import { runCli } from './run-cli.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

process.exitCode = await runCli(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() },
  COMMANDS,
  version,
);
