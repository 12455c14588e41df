import { MigrationError } from '../errors/errors.js';
import type { MigrationDefinition, MigrationSource } from './types.js';

/** Loads a source's migrations, sorted by name (code unit order), refusing duplicate names. */
export async function loadSorted(source: MigrationSource): Promise<MigrationDefinition[]> {
  const definitions = [...(await source.load())].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (let i = 1; i < definitions.length; i++) {
    const name = definitions[i]?.name;
    if (name === definitions[i - 1]?.name) {
      throw new MigrationError(`source ${source.namespace} has two migrations named ${name}`, {
        migration: name,
      });
    }
  }
  return definitions;
}
