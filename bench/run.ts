/**
 * Runs the benchmarks in bench/*.bench.ts (all, or those whose name contains an argument) against
 * the built package, and prints a table of carebase vs raw pg. Usage: `npm run bench [-- name]`.
 */
import { readdirSync } from 'node:fs';
import { printReport } from './harness.ts';

const filters = process.argv.slice(2);
const dir = new URL('.', import.meta.url);
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

for (const file of files) {
  process.stdout.write(`\n${file}\n`);
  const module = (await import(new URL(file, dir).href)) as { default: () => Promise<void> };
  await module.default();
}
printReport();
