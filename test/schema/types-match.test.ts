import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { carebaseMigrations, migrate } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTypeCheck, introspect } from '../support/schema-types.js';

// Migrates a fresh database, generates a TypeScript file from information_schema / pg_attribute
// (one interface per table, plus type-level assertions that Selectable<CarebaseDatabase[T]> is
// exactly what a SELECT returns), and compiles it with the project's TypeScript. A control schema
// with deliberate differences proves the check can fail.
const root = fileURLToPath(new URL('../..', import.meta.url));
const workDir = join(root, 'test-artifacts', `schema-types-${randomBytes(4).toString('hex')}`);

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ role: 'owner' }); // migrates a control schema and tampers with it
  await migrate(database.url, { sources: [carebaseMigrations], schema: 'control' });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`
      alter table control.schema_migrations add column extra int;
      alter table control.schema_migrations alter column execution_ms drop not null;
      create table control.stray (id bigint generated always as identity, at timestamptz not null, primary key (at, id))
        partition by range (at);
      create table control.stray_p202611 partition of control.stray
        for values from ('2026-11-01') to ('2026-12-01');
      create schema mapping;
      create type mapping.mood as enum ('calm', 'tense');
      create table mapping.things (
        id bigint generated always as identity primary key,
        owner uuid not null,
        role text not null check (role in ('user', 'assistant')),
        kind text check (kind in ('a', 'b')),
        data jsonb not null default '{}',
        extra json,
        body text not null,
        search tsvector generated always as (to_tsvector('simple', body)) stored,
        mood mapping.mood,
        tags text[] not null default '{}',
        score real,
        amount numeric,
        raw bytea,
        ip inet,
        day date not null,
        flag boolean not null
      );`);
  } finally {
    await client.end();
  }
  mkdirSync(workDir, { recursive: true });
});

afterAll(async () => {
  rmSync(workDir, { recursive: true, force: true });
  await database?.drop();
});

/** Compiles the files with the repo's tsconfig; returns each file's diagnostics as readable lines. */
function compile(files: readonly string[]): Map<string, string[]> {
  const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
  const program = ts.createProgram([...files], { ...parsed.options, noEmit: true });
  const byFile = new Map<string, string[]>(files.map((file) => [file, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const source = diagnostic.file;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (source === undefined || diagnostic.start === undefined) {
      byFile.get(files[0] ?? '')?.push(message);
      continue;
    }
    const { line } = source.getLineAndCharacterOfPosition(diagnostic.start);
    const text = source.text.split('\n')[line]?.trim() ?? '';
    // Errors in other files (src/schema/*) are reported with the first generated file.
    const own = byFile.get(source.fileName);
    const where = own === undefined ? `${source.fileName}: ` : '';
    (own ?? byFile.get(files[0] ?? ''))?.push(`${where}line ${line + 1}: ${text}\n    ${message}`);
  }
  return byFile;
}

/** A hand-written database type for the `mapping` schema: narrowed JSON and literal unions are accepted. */
const MAPPING_TYPES = `import type { ColumnType, Generated } from 'kysely';
export interface CarebaseDatabase {
  things: {
    id: Generated<string>;
    owner: string;
    role: 'user' | 'assistant';
    kind: string | null;
    data: ColumnType<{ a?: number }, string, string>;
    extra: unknown[] | null;
    body: string;
    search: Generated<string>;
    mood: 'calm' | 'tense' | null;
    tags: string[];
    score: number | null;
    amount: string | null;
    raw: Buffer | null;
    ip: string | null;
    day: ColumnType<Date, string, string>;
    flag: boolean;
  };
}
`;

async function generate(
  schema: string,
  databaseImport = '../../src/schema/database.js',
): Promise<{ file: string; text: string }> {
  const text = generateTypeCheck(await introspect(database.url, schema), databaseImport);
  const file = join(workDir, `${schema}.ts`);
  writeFileSync(file, text);
  return { file, text };
}

describe('the Kysely types match the migrated schema', () => {
  it('Selectable<CarebaseDatabase[T]> equals what the database returns, for every table, both ways', async () => {
    const carebase = await generate('carebase');
    const control = await generate('control');
    writeFileSync(join(workDir, 'mapping-db.ts'), MAPPING_TYPES);
    const mapping = await generate('mapping', './mapping-db.js');
    const diagnostics = compile([carebase.file, control.file, mapping.file]);
    const mappingProblems = diagnostics.get(mapping.file) ?? [];
    expect(mappingProblems, `${mappingProblems.join('\n')}\n\n${mapping.text}`).toEqual([]);

    // Partitions are left out: only their parent is a table of the schema.
    expect(control.text).toContain('export interface Stray {');
    expect(control.text).not.toContain('stray_p202611');

    const problems = diagnostics.get(carebase.file) ?? [];
    expect(
      problems,
      `the types differ from the migrated schema:\n${problems.join('\n')}\n\n${carebase.text}`,
    ).toEqual([]);

    // The control schema differs on purpose: each difference is reported by name.
    const found = (diagnostics.get(control.file) ?? []).join('\n');
    expect(found).toContain('export type __tables');
    expect(found).toContain('export type schema_migrations__columns');
    expect(found).toContain('export type schema_migrations__execution_ms');
    expect(found).toContain('export type schema_migrations__extra');
  }, 120_000);
});
