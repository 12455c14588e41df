#!/bin/sh
# Proves the packed package works for a consumer, as documented in docs/testing.md: a scratch
# project outside the repo installs `npm pack`'s tarball, writes the 5-line vitest recipe, and runs
# it with no database environment variables (so carebase/testing starts a throwaway cluster from
# local PostgreSQL binaries, as an unprivileged user when run as root), with both worker pools.
# Afterwards no cluster directory or postgres process of the run may remain.
# Usage: sh test/testing/scratch-consumer.sh   (after `npm run build`)
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
node_env="sh $root/.ci/with-node"
work=$(mktemp -d /tmp/scratch-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
before=$(ls -d /tmp/carebase-pg-* 2>/dev/null | sort || true)

cd "$root"
$node_env npm pack --silent --pack-destination "$work" >/dev/null
cd "$work"
cat > package.json <<'JSON'
{ "name": "scratch-consumer", "private": true, "type": "module" }
JSON
$node_env npm install --no-audit --no-fund --loglevel=error ./carebase-*.tgz kysely pg vitest >/dev/null

mkdir test
cat > vitest.config.ts <<'TS'
import { defineConfig } from 'vitest/config';
export default defineConfig({ test: { globalSetup: ['./test/postgres.ts'] } });
TS
cat > test/postgres.ts <<'TS'
import { setupPostgres } from 'carebase/testing';
export default () => setupPostgres();
TS
cat > test/users.test.ts <<'TS'
import { expect, test } from 'vitest';
import { carebaseFixtures, createTestDatabase } from 'carebase/testing';
const it = test.extend(carebaseFixtures());

it('gets a migrated carebase on its own database', async ({ carebase }) => {
  const health = await carebase.health();
  expect(health).toMatchObject({ ok: true, pendingMigrations: 0 });
  expect(process.env.CAREBASE_TEST_DATABASE_URL).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
});

it('isolates parallel databases', async () => {
  const dbs = await Promise.all(Array.from({ length: 5 }, () => createTestDatabase()));
  expect(new Set(dbs.map((d) => d.name)).size).toBe(5);
  await Promise.all(dbs.map((d) => d.drop()));
});
TS
cp test/users.test.ts test/users-again.test.ts

for pool in forks threads; do
  env -u CAREBASE_TEST_DATABASE_URL -u DATABASE_URL -u PG_BIN_DIR $node_env npx vitest run --pool="$pool"
done

after=$(ls -d /tmp/carebase-pg-* 2>/dev/null | sort || true)
if [ "$before" != "$after" ]; then
  echo "scratch-consumer: a cluster directory was left behind: $after" >&2
  exit 1
fi
echo "scratch-consumer: ok"
