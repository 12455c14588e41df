import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

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
  plugins: [sqlAsText()],
  resolve: {
    // Tests import the public entry points, as a user would; here they resolve to the sources.
    // test/package/ checks the built package itself.
    alias: [
      { find: /^carebase$/, replacement: src('index.ts') },
      { find: /^carebase\/migration$/, replacement: src('migration/index.ts') },
      { find: /^carebase\/backup$/, replacement: src('backup/index.ts') },
      { find: /^carebase\/testing$/, replacement: src('testing/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // One server per run (carebase/testing); each test file clones its own migrated database.
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
