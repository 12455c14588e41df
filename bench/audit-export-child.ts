/**
 * The child process of the audit export memory measurements (bench/audit-export-memory.bench.ts,
 * test/audit/export-memory.test.ts), so the export is measured in a process that does nothing
 * else: exports `[from, to)` of the audit log at DATABASE_URL `repeat` times in a row to
 * /dev/null through `pipeline` (the consumer honours backpressure and buffers nothing), sampling
 * `process.memoryUsage()` every 5 ms. Prints one JSON line: RSS growth = peak RSS minus the RSS
 * just before the export (after a warm-up export of a few rows, so the connection and the code
 * paths are loaded and only the export's own memory counts), bytes written, duration, and the
 * peak V8 heap and young-generation sizes.
 *
 * Usage: DATABASE_URL=... node bench/audit-export-child.ts <fromIso> <toIso> [jsonl|csv] [repeat] [batchSize]
 */
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getHeapSpaceStatistics } from 'node:v8';
import { createCarebase } from 'carebase';

const [fromArg, toArg, formatArg = 'jsonl', repeatArg = '1', batchArg] = process.argv.slice(2);
const url = process.env.DATABASE_URL;
if (url === undefined || fromArg === undefined || toArg === undefined) {
  process.stderr.write(
    'usage: DATABASE_URL=... node audit-export-child.ts <from> <to> [jsonl|csv] [repeat] [batchSize]\n',
  );
  process.exit(2);
}
const format = formatArg === 'csv' ? 'csv' : 'jsonl';
const from = new Date(fromArg);
const to = new Date(toArg);
const batch = batchArg === undefined ? {} : { batchSize: Number(batchArg) };
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

const cb = createCarebase({ connectionString: url, pool: { max: 2 } });
try {
  await pipeline(
    cb.audit.export({ from, to: new Date(from.getTime() + 1000), format, ...batch }),
    createWriteStream('/dev/null'),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  const baseline = process.memoryUsage().rss;
  const peak = { rss: baseline, heapTotal: 0, external: 0, newSpace: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.rss = Math.max(peak.rss, usage.rss);
    peak.heapTotal = Math.max(peak.heapTotal, usage.heapTotal);
    peak.external = Math.max(peak.external, usage.external);
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    peak.newSpace = Math.max(peak.newSpace, young?.space_size ?? 0);
  };
  const timer = setInterval(sample, 5);
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < Number(repeatArg); i++) {
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(cb.audit.export({ from, to, format, ...batch }), count, createWriteStream('/dev/null'));
  }
  const ms = performance.now() - started;
  clearInterval(timer);
  sample();
  process.stdout.write(
    `${JSON.stringify({
      growthMb: mb(peak.rss - baseline),
      baselineMb: mb(baseline),
      peakMb: mb(peak.rss),
      heapTotalMb: mb(peak.heapTotal),
      newSpaceMb: mb(peak.newSpace),
      externalMb: mb(peak.external),
      bytes,
      ms: Math.round(ms),
    })}\n`,
  );
} finally {
  await cb.close();
}
