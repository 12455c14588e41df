import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCarebase } from 'carebase';
import pg from 'pg';
import { benchDatabase, record } from './harness.ts';

const EXPORT_ROWS = Number(process.env.BENCH_AUDIT_EXPORT_ROWS ?? 1_000_000);
const child = fileURLToPath(new URL('./audit-export-child.ts', import.meta.url));
const run = promisify(execFile);

interface Measurement {
  readonly growthMb: number;
  readonly heapTotalMb: number;
  readonly newSpaceMb: number;
  readonly bytes: number;
  readonly ms: number;
}

async function measure(
  url: string,
  from: Date,
  to: Date,
  format: string,
  batchSize?: number,
): Promise<Measurement> {
  const args = [from.toISOString(), to.toISOString(), format, '1', ...(batchSize ? [String(batchSize)] : [])];
  const { stdout } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', child, ...args], {
    env: { ...process.env, DATABASE_URL: url },
    timeout: 600_000,
  });
  return JSON.parse(stdout.trim()) as Measurement;
}

/**
 * `cb.audit.export()` of EXPORT_ROWS (1M) entries: peak RSS growth of a child process that only
 * exports, to /dev/null with backpressure (bench/audit-export-child.ts). Target: < 64 MB. The raw
 * column is the same export with 1000-row fetches (the previous default), for comparison.
 * The entries are generated in SQL through the insert trigger, sealed, and verified first.
 */
export default async function runBench(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({ connectionString: database.url, pool: { max: 2 } });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  // database.drop() terminates connections the pool may still be closing: never crash on that.
  pool.on('error', () => undefined);
  try {
    await cb.migrate();
    await cb.audit.log({ action: 'bench.mark', resourceType: 'bench' }); // this month's partitions
    const started = performance.now();
    await pool.query(
      `insert into carebase.audit_log (occurred_at, actor_user_id, actor_type, action, resource_type, resource_id, subject_id, ip, user_agent, request_id, changes)
       select now() - interval '1 hour' + g * interval '1 millisecond', '7c9e6679-7425-40de-944b-e07fc1f90ae7', 'user', 'chart.view', 'chart',
              'chart-' || (g % 1000), 'patient-' || (g % 500), '10.0.0.1', 'Mozilla/5.0 bench', 'req-' || g,
              jsonb_build_object('field', 'dose', 'from', g, 'to', g + 1)
       from generate_series(1, $1::int) g`,
      [EXPORT_ROWS],
    );
    const inserted = performance.now();
    const sealed = await cb.audit.seal();
    const done = performance.now();
    const verified = await cb.audit.verify();
    process.stdout.write(
      `  generated ${EXPORT_ROWS} entries in SQL: insert+hash ${((inserted - started) / 1000).toFixed(1)} s, seal ${sealed} in ${((done - inserted) / 1000).toFixed(1)} s, verify ${((performance.now() - done) / 1000).toFixed(1)} s: ok=${verified.ok}, checked=${verified.checked}\n`,
    );
    const from = new Date(Date.now() - 2 * 3_600_000);
    const to = new Date(Date.now() + 60_000);
    for (const format of ['jsonl', 'csv']) {
      const now = await measure(database.url, from, to, format);
      const before = await measure(database.url, from, to, format, 1000);
      record({
        name: `export ${EXPORT_ROWS} entries as ${format} in a child process: peak RSS growth (${(now.bytes / 1e6).toFixed(0)} MB in ${(now.ms / 1000).toFixed(1)} s, heap ${now.heapTotalMb} MB, young gen ${now.newSpaceMb} MB; 1000-row fetches: ${(before.ms / 1000).toFixed(1)} s, heap ${before.heapTotalMb} MB, young gen ${before.newSpaceMb} MB)`,
        unit: 'ms (median)',
        carebase: now.growthMb,
        raw: before.growthMb,
        ratio: before.growthMb / Math.max(now.growthMb, 0.01),
        note: 'values are MB, not ms; raw = the same export with batchSize 1000; target < 64 MB',
      });
    }
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
