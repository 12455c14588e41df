import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

const fromRoot = (path: string): string => fileURLToPath(new URL(`./${path}`, import.meta.url));
const examples = fromRoot('examples/');

/** Public entry points: the source a test sees, and the built file an example sees. */
const entries: Record<string, { src: string; dist: string }> = {
  carebase: { src: 'src/index.ts', dist: 'dist/index.js' },
  'carebase/migration': { src: 'src/migration/index.ts', dist: 'dist/migration.js' },
  'carebase/backup': { src: 'src/backup/index.ts', dist: 'dist/backup.js' },
  'carebase/testing': { src: 'src/testing/index.ts', dist: 'dist/testing.js' },
  'carebase/schemas': { src: 'src/schemas.ts', dist: 'dist/schemas.js' },
};

/**
 * carebase's own tests import the public entry points, as a user would, and see the sources.
 * Examples (examples/**) depend on the package like any host: they get the build in dist/, which
 * `npm test` makes first. test/package/ checks the packed tarball itself.
 */
function carebaseEntries(): Plugin {
  return {
    name: 'carebase-entries',
    enforce: 'pre',
    resolveId(source, importer) {
      const entry = entries[source];
      if (entry === undefined) return null;
      return fromRoot(importer?.startsWith(examples) === true ? entry.dist : entry.src);
    },
  };
}

/** Loads `.sql` imports as text, as tsup's `loader: { '.sql': 'text' }` does in the build. */
function sqlAsText(): Plugin {
  return {
    name: 'carebase-sql-as-text',
    enforce: 'pre',
    load(id) {
      if (!id.endsWith('.sql')) return null;
      return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    },
  };
}

export default defineConfig({
  plugins: [sqlAsText(), carebaseEntries()],
  test: {
    include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // One server per run (carebase/testing); each test file clones its own migrated database.
    globalSetup: ['./test/global-setup.ts'],
    // Repository suites run as the least-privilege app role (grantAppRole), as production should:
    // createTestDatabase() defaults to it here; tests that need the owner ask for role: 'owner'.
    env: { CAREBASE_TEST_ROLE: 'app' },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Most of a test's time is spent waiting on PostgreSQL (another process), so one test file per
    // core minus one (vitest's default: a single worker on a 2-core CI machine) leaves a core idle.
    // At least two; CAREBASE_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.CAREBASE_TEST_WORKERS ?? Math.max(2, availableParallelism() - 1)),
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
