import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { carebaseMigrations } from 'carebase/migration';
import { createTestDatabase, type TestDatabase } from 'carebase/testing';
import { build } from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The packed package (npm pack of the built dist/), installed into a consumer, bundled by esbuild
// into one file in a folder outside the repo with no migrations/ anywhere near it: migrate() must
// still apply every library migration, because they are embedded in the build.
const root = fileURLToPath(new URL('../..', import.meta.url));
const built = existsSync(join(root, 'dist', 'migration.js'));
const consumer = join(root, 'test-artifacts', `bundle-${randomBytes(4).toString('hex')}`);
let outDir: string;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  outDir = mkdtempSync(join(tmpdir(), 'carebase-bundle-'));
});

afterAll(async () => {
  rmSync(consumer, { recursive: true, force: true });
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
  await database?.drop();
});

describe.skipIf(!built)(
  'a bundled consumer of the packed package (skipped when dist/ is missing: npm run build)',
  () => {
    it('migrates from an esbuild bundle with no migrations/ folder on disk', async () => {
      const installed = join(consumer, 'node_modules', 'carebase');
      mkdirSync(installed, { recursive: true });
      const output = execFileSync(
        'npm',
        ['pack', '--json', '--ignore-scripts', '--pack-destination', consumer],
        { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const [pack] = JSON.parse(output) as { filename: string }[];
      execFileSync('tar', [
        '-xzf',
        join(consumer, pack?.filename ?? ''),
        '-C',
        installed,
        '--strip-components=1',
      ]);
      writeFileSync(
        join(consumer, 'app.mjs'),
        `import { migrate, migrationStatus } from 'carebase/migration';
       const url = process.argv[2];
       const { results } = await migrate(url);
       const [status] = await migrationStatus(url);
       console.log(JSON.stringify({ applied: results.map((r) => r.name), pending: status.pending }));`,
      );
      const outfile = join(outDir, 'app.mjs');
      await build({
        entryPoints: [join(consumer, 'app.mjs')],
        absWorkingDir: consumer,
        // The consumer sits inside the repository (to resolve pg and kysely); keep esbuild from
        // applying the repository's tsconfig `paths`, which point `carebase` at src/.
        tsconfigRaw: {},
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        outfile,
        external: ['pg-native'],
        banner: {
          js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        },
        logLevel: 'silent',
      });
      expect(readdirSync(outDir)).toEqual(['app.mjs']);

      const stdout = execFileSync(process.execPath, [outfile, database.url], {
        cwd: outDir,
        encoding: 'utf8',
      });
      const report = JSON.parse(stdout.trim()) as { applied: string[]; pending: string[] };
      const library = (await carebaseMigrations.load()).map((definition) => definition.name);
      expect(report).toEqual({ applied: library, pending: [] });

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          "select name from carebase.schema_migrations where namespace = 'carebase' order by name",
        );
        expect(rows.map((row) => row.name)).toEqual(library);
        const functions = await client.query(
          "select to_regprocedure('carebase.set_updated_at()') is not null as ok",
        );
        expect(functions.rows).toEqual([{ ok: true }]);
      } finally {
        await client.end();
      }
    }, 120_000);
  },
);
