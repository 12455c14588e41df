import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { carebaseMigrations } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationFolder, migrationFolder } from '../support/migration-folder.js';

// Eight separate Node processes run the BUILT package's migrate() against one empty database at
// once, with the library's migrations and a host folder holding CREATE INDEX CONCURRENTLY and
// ALTER TYPE ... ADD VALUE (used by the next migration). `npm test` builds dist/ first.
const root = fileURLToPath(new URL('../..', import.meta.url));
const distMigration = join(root, 'dist', 'migration.js');
const built = existsSync(distMigration);
const PROCESSES = 8;

let database: TestDatabase;
let folder: MigrationFolder;
let scriptDir: string;

const CHILD = `
import { carebaseMigrations, fileMigrations, migrate } from ${JSON.stringify(pathToFileURL(distMigration).href)};
const [url, dir] = process.argv.slice(2);
try {
  const { results } = await migrate(url, {
    sources: [carebaseMigrations, fileMigrations(dir, { namespace: 'app' })],
    lockTimeoutMs: 60000,
  });
  console.log(JSON.stringify({ ok: true, applied: results.map((r) => r.namespace + '/' + r.name) }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: error.code, message: error.message }));
  process.exitCode = 1;
}
`;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  folder = migrationFolder({
    '0001_tables.sql': [
      "create type visit_kind as enum ('home');",
      'create table runs (name text not null);',
      'create table visits (id bigint primary key, kind visit_kind not null, note text);',
      "insert into visits select g, 'home', md5(g::text) from generate_series(1, 50000) g;",
      "insert into runs values ('0001_tables');",
    ].join('\n'),
    '0002_index.sql': [
      '-- carebase:no-transaction',
      'create index concurrently visits_note_idx on visits (note);',
      "insert into runs values ('0002_index');",
    ].join('\n'),
    '0003_kind.sql':
      "-- carebase:no-transaction\nalter type visit_kind add value 'clinic';\ninsert into runs values ('0003_kind');",
    '0004_use_kind.sql':
      "update visits set kind = 'clinic' where id % 2 = 0;\ninsert into runs values ('0004_use_kind');",
  });
  scriptDir = mkdtempSync(join(tmpdir(), 'carebase-concurrent-'));
  writeFileSync(join(scriptDir, 'child.mjs'), CHILD);
});

afterAll(async () => {
  folder?.remove();
  if (scriptDir !== undefined) rmSync(scriptDir, { recursive: true, force: true });
  await database?.drop();
});

function runChild(): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(scriptDir, 'child.mjs'), database.url, folder.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

describe.skipIf(!built)(
  'concurrent migrators in separate processes (skipped when dist/ is missing: npm run build)',
  () => {
    it(`${PROCESSES} processes apply every migration exactly once, without deadlock or error`, async () => {
      const started = Date.now();
      const outcomes = await Promise.all(Array.from({ length: PROCESSES }, () => runChild()));
      const elapsed = Date.now() - started;
      for (const outcome of outcomes) {
        expect(outcome.stderr).toBe('');
        expect(outcome.exitCode, outcome.stdout).toBe(0);
      }
      const reports = outcomes.map((outcome) => JSON.parse(outcome.stdout.trim()) as { applied: string[] });
      const applied = reports.flatMap((report) => report.applied).sort();
      const library = (await carebaseMigrations.load()).map((definition) => `carebase/${definition.name}`);
      const host = ['0001_tables', '0002_index', '0003_kind', '0004_use_kind'].map((name) => `app/${name}`);
      // Each migration applied by exactly one process (no duplicates, none missing).
      expect(applied).toEqual([...library, ...host].sort());

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const rows = await client.query(
          'select namespace, name from carebase.schema_migrations order by namespace, name',
        );
        expect(rows.rows.map((row) => `${row.namespace}/${row.name}`)).toEqual([...host, ...library].sort());
        const runs = await client.query(
          'select name, count(*)::int as n from runs group by name order by name',
        );
        expect(runs.rows).toEqual(host.map((name) => ({ name: name.slice(4), n: 1 })));
        const index = await client.query(
          "select indisvalid as valid from pg_index where indexrelid = 'visits_note_idx'::regclass",
        );
        expect(index.rows).toEqual([{ valid: true }]);
        const kinds = await client.query(
          'select kind::text, count(*)::int as n from visits group by 1 order by 1',
        );
        expect(kinds.rows).toEqual([
          { kind: 'clinic', n: 25000 },
          { kind: 'home', n: 25000 },
        ]);
      } finally {
        await client.end();
      }
      console.info(`${PROCESSES} concurrent migrator processes finished in ${elapsed} ms`);
    }, 120_000);
  },
);
