import { resolve } from 'node:path';
import { type CliCommand, ok, problem } from '../command.js';
import { stringFlag } from '../flags.js';

/**
 * `carebase import chat-json FILE`: imports the legacy `{ username: [{ role, content }] }` chat
 * file, idempotently. Exit 1 when something was not imported (users missing) or the file holds
 * no messages; never prints message content.
 */
export const importChatJsonCommand: CliCommand = {
  path: ['import', 'chat-json'],
  summary: 'import the legacy JSON chat file, idempotently (exit 1 when anything was not imported)',
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  database: 'required',
  flags: {
    'create-missing-users': {
      type: 'boolean',
      description: 'create users missing from the database (disabled, unusable password)',
    },
    role: { type: 'string', value: 'ROLE', description: 'role of created users (default: nurse)' },
  },
  details: "Each user's messages go into their default conversation; running it again adds nothing.",
  async run(context) {
    const file = resolve(context.io.cwd, context.positionals[0] ?? '');
    const role = stringFlag(context.values, 'role');
    const database = await context.database();
    const bar = context.progress('importing');
    const result = await database.carebase().chat.importLegacyJson(file, {
      createMissingUsers: context.values['create-missing-users'] === true,
      ...(role === undefined ? {} : { role }),
      onProgress: (p) =>
        bar.update(p.messagesDone, p.messagesTotal, `messages, ${p.usersDone}/${p.usersTotal} users`),
    });
    bar.stop();
    const lines = [
      `imported ${result.inserted} messages (${result.alreadyPresent} already present) for ${
        result.users - result.usersMissing.length
      } users; ${result.usersCreated} users created, ${result.usersMissing.length} missing`,
    ];
    if (result.usersMissing.length > 0) {
      lines.push(
        `not imported: the messages of ${result.usersMissing.length} user${result.usersMissing.length === 1 ? '' : 's'} not found ` +
          `(use --create-missing-users): ${result.usersMissing.slice(0, 20).join(', ')}${result.usersMissing.length > 20 ? ', ...' : ''}`,
      );
      return problem({ ...result }, lines.join('\n'));
    }
    if (result.inserted + result.alreadyPresent === 0) {
      lines.push('nothing imported: the file holds no messages');
      return problem({ ...result }, lines.join('\n'));
    }
    return ok({ ...result }, lines.join('\n'));
  },
};
