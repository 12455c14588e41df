import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { carebaseMigrations, migrationChecksum } from 'carebase/migration';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const folder = `${root}migrations`;

describe('the library migrations', () => {
  it('embeds every file of migrations/, under its own name and text, and nothing else', async () => {
    const files = readdirSync(folder)
      .filter((file) => file.endsWith('.sql'))
      .sort();
    const embedded = await carebaseMigrations.load();
    expect(embedded.map((definition) => `${definition.name}.sql`)).toEqual(files);
    for (const definition of embedded) {
      const text = readFileSync(`${folder}/${definition.name}.sql`, 'utf8');
      expect(definition.checksum, `${definition.name} embeds another file's text`).toBe(
        migrationChecksum(text),
      );
    }
  });

  it('names files NNNN_snake_case.sql with unique numbers', () => {
    const files = readdirSync(folder).filter((file) => file.endsWith('.sql'));
    for (const file of files) expect(file).toMatch(/^\d{4}_[a-z0-9_]+\.sql$/);
    const numbers = files.map((file) => file.slice(0, 4));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('ships migrations/ in the npm package', () => {
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [pack] = JSON.parse(output) as { files: { path: string }[] }[];
    const paths = new Set(pack?.files.map((file) => file.path));
    for (const file of readdirSync(folder))
      expect(paths, `migrations/${file} missing`).toContain(`migrations/${file}`);
  });
});
