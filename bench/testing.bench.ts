import { randomBytes } from 'node:crypto';
import { carebaseMigrations, migrate } from 'carebase/migration';
import { createTestDatabase, startPostgres } from 'carebase/testing';
import pg from 'pg';
import { benchServerUrl, record } from './harness.ts';

const RUNS = Number(process.env.BENCH_TESTING_RUNS ?? 50);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** The from-scratch baseline: a new database, then every library migration applied to it. */
async function fromScratch(serverUrl: string): Promise<{ ms: number; drop: () => Promise<void> }> {
  const name = `carebase_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const started = performance.now();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString(), { sources: [carebaseMigrations] });
  const ms = performance.now() - started;
  return {
    ms,
    drop: async () => {
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    },
  };
}

async function compare(label: string, serverUrl: string, spares?: number): Promise<void> {
  const options = spares === undefined ? { serverUrl } : { serverUrl, spares };
  // Warm-up: builds (or finds) the template, outside the measurement.
  await (await createTestDatabase(options)).drop();
  const cloned: number[] = [];
  const scratch: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const database = await createTestDatabase(options);
    cloned.push(performance.now() - started);
    await database.drop();
    const baseline = await fromScratch(serverUrl);
    scratch.push(baseline.ms);
    await baseline.drop();
  }
  const median = { carebase: percentile(cloned, 50), raw: percentile(scratch, 50) };
  const p95 = { carebase: percentile(cloned, 95), raw: percentile(scratch, 95) };
  record({
    name: `createTestDatabase() vs CREATE DATABASE + all migrations, ${label}, ${RUNS} runs`,
    unit: 'ms (median)',
    carebase: median.carebase,
    raw: median.raw,
    ratio: median.raw / median.carebase,
    note: `p95 ${p95.carebase.toFixed(1)} ms vs ${p95.raw.toFixed(1)} ms`,
  });
}

/**
 * `createTestDatabase()` (a template clone) against creating a database and migrating it from
 * scratch, on the configured server and on a throwaway local cluster (what a suite gets with no
 * server configured), there both as a cold clone and with the default background spares (whose
 * copies are made while the baseline runs, as they would be while a test runs). Ratio > 1: the
 * carebase side is that many times faster.
 */
export default async function run(): Promise<void> {
  await compare('configured server', benchServerUrl);
  const local = await startPostgres({ provider: 'local' }).catch((error: unknown) => {
    process.stdout.write(`  (local cluster skipped: ${(error as Error).message.split('\n')[0]})\n`);
    return undefined;
  });
  if (local === undefined) return;
  try {
    await compare('throwaway local cluster, cold clone (spares: 0)', local.url, 0);
    await compare('throwaway local cluster, default (2 spares made in the background)', local.url);
  } finally {
    await local.stop();
  }
}
