#!/usr/bin/env node
// The npm registry mirror this project's machines use serves only the linux builds of
// platform-specific optional packages (esbuild, rollup, biome, ...). npm then writes a lockfile
// without the other platforms' entries, and `npm ci` refuses it ("Missing: ... from lock file").
// This adds the missing optional entries (name + version, flagged optional) so `npm ci` accepts
// the lockfile here and anywhere; npm skips them on platforms where they cannot be fetched.
// Run after every `npm install` that changes package-lock.json: `node .ci/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;

for (const [path, meta] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    // Platform packages are pinned to an exact version; ranges are ordinary optional deps npm resolved.
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) continue;
    const nested = `${path === '' ? '' : `${path}/`}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]?.version === version) continue;
    const target = packages[hoisted] ? nested : hoisted;
    packages[target] = { version, ...(meta.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}

const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entr${added === 1 ? 'y' : 'ies'}`);
