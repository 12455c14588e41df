import { parseArgs } from 'node:util';
import { createCarebase } from '../../carebase.js';
import { configFromEnv } from '../../config/from-env.js';
import { isCarebaseError } from '../../errors/errors.js';
import type { ChatImportProgress } from '../../repositories/chat/import-legacy.js';

/** What a CLI command receives besides its arguments. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
}

const USAGE = `Usage: carebase import chat-json FILE [--create-missing-users] [--role ROLE] [--json]

Imports the legacy { "<username>": [{ "role", "content" }, ...] } chat file into each user's
default conversation. Idempotent: running it again adds nothing. Connects with DATABASE_URL (or
DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD) and CAREBASE_SCHEMA.

  --create-missing-users   create users missing from the database (disabled, unusable password)
  --role ROLE              role of created users (default: nurse)
  --json                   print the result as JSON
`;

function bar(progress: ChatImportProgress): string {
  const total = Math.max(progress.messagesTotal, 1);
  const ratio = Math.min(progress.messagesDone / total, 1);
  const width = 30;
  const filled = Math.round(ratio * width);
  return `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(ratio * 100)
    .toString()
    .padStart(
      3,
    )}% ${progress.messagesDone}/${progress.messagesTotal} messages, ${progress.usersDone}/${progress.usersTotal} users`;
}

/**
 * `carebase import chat-json FILE`: imports the legacy chat file, showing a progress bar on a TTY
 * (on stderr) and staying quiet otherwise; prints a one-line summary (or JSON with `--json`) on
 * stdout. Returns the exit code: 0 on success, 1 on failure, 2 on bad usage. Error output names
 * the error code and never the file's content.
 *
 * @example
 * ```ts
 * const code = await importChatCommand(['chat-json', 'chat_history.json'], {
 *   stdout: process.stdout, stderr: process.stderr, isTTY: process.stderr.isTTY === true, env: process.env,
 * });
 * ```
 */
export async function importChatCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch {
    io.stderr.write(USAGE);
    return 2;
  }
  const [kind, file] = parsed.positionals;
  if (parsed.values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (kind !== 'chat-json' || file === undefined || parsed.positionals.length !== 2) {
    io.stderr.write(USAGE);
    return 2;
  }
  let cb: ReturnType<typeof createCarebase> | undefined;
  let drawn = false;
  try {
    cb = createCarebase(configFromEnv(io.env));
    const result = await cb.chat.importLegacyJson(file, {
      createMissingUsers: parsed.values['create-missing-users'] === true,
      ...(parsed.values.role === undefined ? {} : { role: parsed.values.role }),
      ...(io.isTTY
        ? {
            onProgress: (progress: ChatImportProgress) => {
              io.stderr.write(bar(progress));
              drawn = true;
            },
          }
        : {}),
    });
    if (drawn) io.stderr.write('\n');
    if (parsed.values.json === true) {
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      io.stdout.write(
        `imported ${result.inserted} messages (${result.alreadyPresent} already present) for ${
          result.users - result.usersMissing.length
        } users; ${result.usersCreated} users created, ${result.usersMissing.length} missing\n`,
      );
      if (result.usersMissing.length > 0) {
        io.stderr.write(
          `users not found (use --create-missing-users): ${result.usersMissing.slice(0, 20).join(', ')}${
            result.usersMissing.length > 20 ? ', ...' : ''
          }\n`,
        );
      }
    }
    return 0;
  } catch (error) {
    if (drawn) io.stderr.write('\n');
    const code = isCarebaseError(error) ? error.code : 'UNEXPECTED';
    const message = isCarebaseError(error) ? error.message : 'unexpected failure';
    io.stderr.write(`carebase import chat-json failed: ${code}: ${message}\n`);
    return 1;
  } finally {
    await cb?.close();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'create-missing-users': { type: 'boolean' },
      role: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
