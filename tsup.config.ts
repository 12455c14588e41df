import { defineConfig } from 'tsup';

/**
 * Dual ESM + CJS build with `.d.ts` / `.d.cts` for the five public entry points, plus the CLI.
 * `kysely` and `pg` are peer dependencies and stay external; so do the ordinary dependencies.
 * SQL migrations are embedded at build time as text (`loader: { '.sql': 'text' }`, imported by
 * `src/migration/library.ts`), so bundlers cannot lose them and nothing reads files at run time.
 */
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      migration: 'src/migration/index.ts',
      backup: 'src/backup/index.ts',
      testing: 'src/testing/index.ts',
      schemas: 'src/schemas.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: false,
    splitting: true,
    treeshake: true,
    target: 'node22',
    platform: 'node',
    shims: true,
    loader: { '.sql': 'text' },
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    target: 'node22',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    loader: { '.sql': 'text' },
  },
]);
