import type { CliCommand } from './command.js';
import { CONNECTION_FLAGS } from './connection.js';
import type { FlagSpec } from './flags.js';

/** `--json` and `--help`, which every command accepts. */
export const OUTPUT_FLAGS: Readonly<Record<string, FlagSpec>> = {
  json: { type: 'boolean', description: 'print the result as one JSON document on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** The exit codes of every command. */
export const EXIT_CODES_TEXT =
  'Exit codes: 0 success; 1 the operation failed or found a problem; 2 usage, configuration or connection error.';

const CONNECTION_TEXT = `Connection: DATABASE_URL, or DB_HOST/DB_PORT/DB_NAME/DB_USER (+ DB_SSL); CAREBASE_SCHEMA.
No flag takes a password: it comes from DATABASE_URL or DB_PASSWORD in the environment (or --env-file),
PGPASSWORD, ~/.pgpass (PGPASSFILE), or a prompt on a terminal.`;

function flagLines(flags: Readonly<Record<string, FlagSpec>>): string[] {
  const entries = Object.entries(flags).map(([name, spec]) => {
    const left = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`;
    return [left, spec.description] as const;
  });
  const width = Math.max(...entries.map(([left]) => left.length));
  return entries.map(([left, description]) => `  ${left.padEnd(width)}  ${description}`);
}

/** The help of one command: usage line, summary, its flags, the common flags, exit codes. */
export function commandUsage(command: CliCommand): string {
  const name = `carebase ${command.path.join(' ')}`;
  const args = command.args === undefined ? '' : ` ${command.args}`;
  const sections = [`Usage: ${name}${args} [options]`, '', command.summary];
  if (Object.keys(command.flags).length > 0) sections.push('', 'Options:', ...flagLines(command.flags));
  if (command.details !== undefined) sections.push('', command.details.trimEnd());
  sections.push('', 'Common options:', ...flagLines({ ...CONNECTION_FLAGS, ...OUTPUT_FLAGS }));
  if (command.database !== 'none') sections.push('', CONNECTION_TEXT);
  sections.push('', EXIT_CODES_TEXT);
  return `${sections.join('\n')}\n`;
}

/** The help of a group (`carebase migrate`), or of the whole CLI when `group` is undefined. */
export function groupUsage(
  commands: readonly CliCommand[],
  group: string | undefined,
  version: string,
): string {
  const listed = commands.filter((command) => group === undefined || command.path[0] === group);
  const names = listed.map(
    (command) => `${command.path.join(' ')}${command.args === undefined ? '' : ` ${command.args}`}`,
  );
  const width = Math.max(...names.map((name) => name.length));
  const lines = listed.map((command, index) => `  ${(names[index] ?? '').padEnd(width)}  ${command.summary}`);
  const head =
    group === undefined
      ? `carebase ${version}\n\nUsage: carebase <command> [options]      carebase <command> --help for its options`
      : `Usage: carebase ${group} <command> [options]      carebase ${group} <command> --help for its options`;
  return `${head}

Commands:
${lines.join('\n')}

Every command takes --url URL, --env-file FILE, --schema NAME, --json and --help.
${CONNECTION_TEXT}
${EXIT_CODES_TEXT}
`;
}
