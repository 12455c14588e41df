import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type CliCommand, ok } from '../../command.js';
import { stringFlag } from '../../flags.js';
import { UsageError } from '../../usage-error.js';

const NAME = /^[a-z0-9][a-z0-9_]{0,80}$/;

/** `carebase migrate create NAME`: writes the next numbered migration file with both sections. */
export const migrateCreateCommand: CliCommand = {
  path: ['migrate', 'create'],
  summary: 'write the next NNNN_NAME.sql (with a down section) into --dir (default: migrations)',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  database: 'none',
  flags: { dir: { type: 'string', value: 'DIR', description: 'the migration folder (default: migrations)' } },
  async run(context) {
    const raw = context.positionals[0] ?? '';
    const name = raw.toLowerCase().replace(/[\s-]+/g, '_');
    if (!NAME.test(name)) throw new UsageError('NAME must be lower-case letters, digits and underscores');
    const dir = resolve(context.io.cwd, stringFlag(context.values, 'dir') ?? 'migrations');
    mkdirSync(dir, { recursive: true });
    const prefix = nextPrefix(readdirSync(dir).filter((file) => file.endsWith('.sql')));
    const file = join(dir, `${prefix}_${name}.sql`);
    if (existsSync(file)) throw new UsageError(`${relative(context.io.cwd, file)} already exists`, false);
    writeFileSync(
      file,
      `-- ${prefix}_${name}\n` +
        '-- Runs in one transaction. For CREATE INDEX CONCURRENTLY or ALTER TYPE ... ADD VALUE, make the\n' +
        '-- first line of this file: -- carebase:no-transaction\n' +
        '-- Check it with: npx carebase migrate lint --dir <this folder>\n\n\n' +
        '-- carebase:down\n\n',
      { flag: 'wx' },
    );
    const shown = relative(context.io.cwd, file) || file;
    return ok({ file: shown }, `created ${shown}`);
  },
};

/** The next `NNNN` after the highest four-digit prefix, or a UTC timestamp when the folder uses those. */
function nextPrefix(files: readonly string[]): string {
  if (files.some((file) => /^\d{14}_/.test(file))) {
    return new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  }
  const numbers = files
    .map((file) => /^(\d{4})_/.exec(file)?.[1])
    .filter((n) => n !== undefined)
    .map(Number);
  return String(Math.max(0, ...numbers) + 1).padStart(4, '0');
}
