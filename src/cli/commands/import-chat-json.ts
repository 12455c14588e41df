import { resolve } from 'node:path';
import { ValidationError } from '../../errors/errors.js';
import { type CliCommand, ok, problem } from '../command.js';
import { stringFlag } from '../flags.js';
import { formatTable } from '../format-table.js';
import { UsageError } from '../usage-error.js';

function choice<T extends string>(
  value: string | undefined,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** `bob[2414].content` from an issue path. */
function pathText(path: readonly (string | number)[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

/**
 * `carebase import chat-json FILE`: imports the legacy `{ username: [{ role, content, timestamp? }] }`
 * chat file, idempotently. The whole file is checked first: every problem is listed with its path
 * (`bob[2414].content`) and nothing is written. Prints the reconciliation (read = inserted + already
 * present + refused). Exit 1 when anything was refused (problems, users missing) or nothing was
 * imported; never prints message content.
 */
export const importChatJsonCommand: CliCommand = {
  path: ['import', 'chat-json'],
  summary:
    'import the legacy JSON chat file, idempotently (exit 1 when anything was refused or nothing imported)',
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  database: 'required',
  flags: {
    'create-missing-users': {
      type: 'boolean',
      description: 'create users missing from the database (disabled, unusable password)',
    },
    role: { type: 'string', value: 'ROLE', description: 'role of created users (default: nurse)' },
    nul: {
      type: 'string',
      value: 'refuse|escape',
      description:
        'NUL characters in content: refuse (default) or store escaped as \\u0000, noted in metadata',
    },
    'case-collisions': {
      type: 'string',
      value: 'refuse|merge',
      description: 'usernames differing only in case: refuse (default) or import into one account',
    },
    'max-problems': { type: 'string', value: 'N', description: 'list at most N problems (default 1000)' },
  },
  details:
    "Each user's messages go into their default conversation with their timestamps; running it again adds nothing.",
  async run(context) {
    const file = resolve(context.io.cwd, context.positionals[0] ?? '');
    const role = stringFlag(context.values, 'role');
    const nul = choice(stringFlag(context.values, 'nul'), 'nul', ['refuse', 'escape'] as const);
    const caseCollisions = choice(stringFlag(context.values, 'case-collisions'), 'case-collisions', [
      'refuse',
      'merge',
    ] as const);
    const maxText = stringFlag(context.values, 'max-problems');
    const maxProblems = maxText === undefined ? undefined : Number(maxText);
    if (maxProblems !== undefined && !(Number.isInteger(maxProblems) && maxProblems >= 1)) {
      throw new UsageError('--max-problems must be a positive integer');
    }
    const database = await context.database();
    const bar = context.progress('importing');
    let result: Awaited<ReturnType<ReturnType<typeof database.carebase>['chat']['importLegacyJson']>>;
    try {
      result = await database.carebase().chat.importLegacyJson(file, {
        createMissingUsers: context.values['create-missing-users'] === true,
        ...(role === undefined ? {} : { role }),
        ...(nul === undefined ? {} : { nul }),
        ...(caseCollisions === undefined ? {} : { caseCollisions }),
        ...(maxProblems === undefined ? {} : { maxProblems }),
        onProgress: (p) =>
          bar.update(p.messagesDone, p.messagesTotal, `messages, ${p.usersDone}/${p.usersTotal} users`),
      });
    } catch (error) {
      bar.stop();
      if (
        !(error instanceof ValidationError) ||
        error.issues.length === 0 ||
        error.issues[0]?.path.length === 0
      ) {
        throw error;
      }
      const problems = error.issues.map((issue) => ({ path: pathText(issue.path), reason: issue.message }));
      const text = [
        error.message,
        '',
        formatTable(
          ['path', 'problem'],
          problems.map((p) => [p.path, p.reason]),
        ).trimEnd(),
      ].join('\n');
      return problem({ error: { code: error.code, message: error.message }, inserted: 0, problems }, text);
    }
    bar.stop();
    const table = formatTable(
      ['messages', 'count'],
      [
        ['read', String(result.read)],
        ['inserted', String(result.inserted)],
        ['already present', String(result.alreadyPresent)],
        ['refused', String(result.refused)],
        ['repaired (noted in metadata)', String(result.repaired)],
      ],
    ).trimEnd();
    const lines = [
      `imported ${result.inserted} messages (${result.alreadyPresent} already present) for ${
        result.users - result.usersMissing.length
      } users; ${result.usersCreated} users created, ${result.usersMissing.length} missing`,
      '',
      table,
    ];
    if (result.usersMissing.length > 0) {
      lines.push(
        '',
        `not imported: the messages of ${result.usersMissing.length} user${result.usersMissing.length === 1 ? '' : 's'} not found ` +
          `(use --create-missing-users): ${result.usersMissing.slice(0, 20).join(', ')}${result.usersMissing.length > 20 ? ', ...' : ''}`,
      );
      return problem({ ...result }, lines.join('\n'));
    }
    if (result.inserted + result.alreadyPresent === 0) {
      lines.push('', 'nothing imported: the file holds no messages');
      return problem({ ...result }, lines.join('\n'));
    }
    return ok({ ...result }, lines.join('\n'));
  },
};
