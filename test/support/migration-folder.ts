import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary folder of host migration files; `write` adds or replaces one, `remove` deletes it all. */
export interface MigrationFolder {
  readonly dir: string;
  write(name: string, text: string): void;
  delete(name: string): void;
  remove(): void;
}

export function migrationFolder(files: Record<string, string> = {}): MigrationFolder {
  const dir = mkdtempSync(join(tmpdir(), 'carebase-migrations-'));
  const folder: MigrationFolder = {
    dir,
    write: (name, text) => writeFileSync(join(dir, name), text),
    delete: (name) => rmSync(join(dir, name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  for (const [name, text] of Object.entries(files)) folder.write(name, text);
  return folder;
}
