import { createRequire } from 'node:module';
import type { NextConfig } from 'next';

/**
 * carebase's public entry points, resolved here by package self-reference (this folder lives in
 * the `carebase` package) to the built files in dist/.
 */
const require = createRequire(import.meta.url);
const carebaseEntries = new Map(
  ['carebase', 'carebase/migration', 'carebase/backup', 'carebase/testing', 'carebase/schemas'].map(
    (entry) => [entry, require.resolve(entry)],
  ),
);

const config: NextConfig = {
  serverExternalPackages: ['carebase', 'pg', 'bcrypt', 'kysely', 'pg-cursor', 'pg-copy-streams'],
  webpack(webpackConfig: { externals: unknown[] }, { isServer }: { isServer: boolean }) {
    if (isServer) {
      webpackConfig.externals.unshift(({ request }: { request?: string }) => {
        const file = request === undefined ? undefined : carebaseEntries.get(request);
        return Promise.resolve(file === undefined ? undefined : `commonjs ${file}`);
      });
    }
    return webpackConfig;
  },
};

export default config;
