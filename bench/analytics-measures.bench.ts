import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCarebase } from 'carebase';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { benchDatabase, duration, record } from './harness.ts';

/**
 * Analytics measures, percentiles, funnels and host log tables, each against raw SQL in the same
 * run:
 * - `trackMany` 200k events with measures vs raw binary COPY of the same rows (measures included);
 * - `summary` with measures 30 days from rollups vs a raw GROUP BY with sum()/min()/max();
 * - p95 per day for 30 days from the rollups' sketches vs raw `percentile_cont` (and the error);
 * - a 3-step funnel over 30 days vs the reference SQL (the definition as joins);
 * - the HEDIS `api_logs` example: a partitioned host table kept by `cb.partitionedTable()`, its
 *   dashboard queries timed.
 * `BENCH_MEASURES_EVENTS` (default 1M) sizes the event set, `BENCH_API_LOGS_ROWS` (default 2M) the
 * log table; `BENCH_MEASURES_ONLY=ingest|queries|logs` runs one part.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const now = new Date();
  const measures = {
    'chat.answer': { tokens: 'integer', costUsd: 'decimal', latencyMs: 'integer' },
  } as const;
  const cb = createCarebase({
    connectionString: database.url,
    pool: { max: 8, statementTimeoutMs: 0 },
    analytics: { autoRefreshIntervalMs: 0, measures },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  pool.on('error', () => undefined);
  const table = 'carebase.analytics_events';
  const only = process.env.BENCH_MEASURES_ONLY;
  try {
    await cb.migrate();
    await pool.query(
      `select carebase.ensure_monthly_partitions('analytics_events', now() - interval '2 months', 3)`,
    );
    if (only === undefined || only === 'ingest') await ingest();
    if (only === undefined || only === 'queries') await queries();
    if (only === undefined || only === 'logs') await logs();
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }

  async function ingest(): Promise<void> {
    const events = Array.from({ length: 200_000 }, (_, i) => ({
      userId: `00000000-0000-4000-8000-${String(i % 5000).padStart(12, '0')}`,
      sessionId: `session-${i % 997}`,
      eventType: 'chat',
      eventName: 'chat.answer',
      data: { model: 'small' },
      measures: {
        tokens: 100 + (i % 1900),
        costUsd: ((100 + (i % 1900)) * 0.0000051).toFixed(7),
        latencyMs: 200 + ((i * 7919) % 5000),
      },
      occurredAt: new Date(now.getTime() - (i % 3600) * 1000),
    }));
    const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
    // The best raw method from Node (see analytics.bench.ts), writing the same seven columns.
    const binaryRows = function* () {
      yield Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');
      for (let start = 0; start < events.length; start += 4000) {
        const chunk = events.slice(start, start + 4000);
        const buffer = Buffer.allocUnsafe(chunk.length * 512);
        let at = 0;
        const text = (value: string) => {
          const length = buffer.write(value, at + 4, 'utf8');
          buffer.writeInt32BE(length, at);
          at += 4 + length;
        };
        for (const e of chunk) {
          buffer.writeInt16BE(7, at);
          buffer.writeInt32BE(8, at + 2);
          buffer.writeBigInt64BE(BigInt(e.occurredAt.getTime() - PG_EPOCH_MS) * 1000n, at + 6);
          buffer.writeInt32BE(16, at + 14);
          buffer.write(e.userId.replaceAll('-', ''), at + 18, 'hex');
          at += 34;
          text(e.sessionId);
          text(e.eventType);
          text(e.eventName);
          text(`\x01${JSON.stringify(e.data)}`);
          text(
            `\x01{"tokens":${e.measures.tokens},"costUsd":${e.measures.costUsd},"latencyMs":${e.measures.latencyMs}}`,
          );
        }
        yield buffer.subarray(0, at);
      }
      yield Buffer.from([0xff, 0xff]);
    };
    const rawBinaryCopy = async () => {
      const client = await pool.connect();
      try {
        const stream = client.query(
          copyFrom(
            `COPY ${table} (occurred_at, user_id, session_id, event_type, event_name, data, measures) FROM STDIN (FORMAT binary)`,
          ),
        );
        await pipeline(Readable.from(binaryRows()), stream);
      } finally {
        client.release();
      }
    };
    const ms = { carebase: [] as number[], raw: [] as number[] };
    const timed = (side: 'carebase' | 'raw', fn: () => Promise<unknown>) => async () => {
      const started = performance.now();
      await fn();
      ms[side].push(Math.round(performance.now() - started));
    };
    await duration({
      name: 'trackMany 200k events with measures vs raw binary COPY (same rows)',
      runs: Number(process.env.BENCH_MEASURES_INGEST_RUNS ?? 4),
      beforeEach: () => pool.query(`truncate ${table}`),
      carebase: timed('carebase', () => cb.analytics.trackMany(events)),
      raw: timed('raw', rawBinaryCopy),
    });
    process.stdout.write(`    runs (ms): carebase ${ms.carebase.join(', ')}; raw ${ms.raw.join(', ')}\n`);
    await pool.query(`truncate ${table}`);
  }

  async function queries(): Promise<void> {
    const total = Number(process.env.BENCH_MEASURES_EVENTS ?? 1_000_000);
    const spanDays = 35;
    const start = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - spanDays * 86_400_000);
    let started = performance.now();
    await pool.query(`alter table ${table} disable trigger analytics_events_dirty_insert`);
    for (let offset = 0; offset < total; offset += 1_000_000) {
      const size = Math.min(1_000_000, total - offset);
      // 40% chat answers with measures (log-uniform latency), the rest funnel steps and noise,
      // 5000 users (each with every event name), in time order over the span, as a live events
      // table receives them (heap order follows occurred_at). An earlier version scattered the
      // times pseudo-randomly, which put each hour's rows on thousands of heap pages: the partial
      // hours at a range's edges (read raw, for exactness) then cost ~8,500 random page reads.
      await pool.query(
        `insert into ${table} (occurred_at, user_id, event_type, event_name, measures)
         select $1::timestamptz + ((i::float8 / $3) * $4) * interval '1 day',
                ('00000000-0000-4000-8000-' || lpad(((i * 7919) % 5000)::text, 12, '0'))::uuid,
                'feature',
                (array['chat.answer', 'chat.answer', 'user.login', 'careplan.view', 'page.view'])[1 + ((i / 3) % 5)],
                case when (i / 3) % 5 < 2 then jsonb_build_object(
                  'tokens', 50 + (i * 31) % 2000,
                  'costUsd', round(((50 + (i * 31) % 2000) * 0.0000051)::numeric, 7),
                  'latencyMs', round(exp(6.5 + ((i * 7919) % 1000) / 1000.0 * 2.5))) end
         from generate_series($2::bigint, $2::bigint + $5 - 1) i`,
        [start, offset, total, spanDays, size],
      );
    }
    await pool.query(`alter table ${table} enable trigger analytics_events_dirty_insert`);
    await pool.query(`vacuum analyze ${table}`);
    const loadSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await cb.analytics.refreshRollups();
    const refreshSeconds = (performance.now() - started) / 1000;
    await pool.query(
      'vacuum analyze carebase.analytics_rollup_hourly_measures, carebase.analytics_rollup_hourly_sketch',
    );
    record({
      name: `generate ${total.toLocaleString('en-US')} events in SQL / first refreshRollups`,
      unit: 'ms (median)',
      carebase: refreshSeconds * 1000,
      raw: loadSeconds * 1000,
      ratio: loadSeconds / refreshSeconds,
      note: 'carebase = refresh, raw = load; informational',
    });

    const from = new Date(start.getTime() + 2 * 86_400_000 + 17 * 60_000 + 3_000);
    const to = new Date(from.getTime() + 30 * 86_400_000);
    const label = `30 days over ${total.toLocaleString('en-US')} events`;
    const rawSums = () =>
      pool.query<{ event_name: string; measure: string; total: string }>(
        `select event_type, event_name, m.key as measure, count(*), sum((m.value #>> '{}')::numeric)::text as total,
                min((m.value #>> '{}')::numeric), max((m.value #>> '{}')::numeric)
         from ${table} cross join lateral jsonb_each(measures) m
         where occurred_at >= $1 and occurred_at < $2 and measures is not null group by 1, 2, 3`,
        [from, to],
      );
    await duration({
      name: `summary with measures ${label} vs raw GROUP BY with sum()`,
      runs: 2,
      carebase: () => cb.analytics.summary({ from, to, eventName: 'chat.answer' }),
      raw: rawSums,
    });
    // Exactness check, reported.
    const summary = await cb.analytics.summary({ from, to, eventName: 'chat.answer' });
    const expected = (await rawSums()).rows;
    const mismatches = expected.filter(
      (row) => summary.byEvent[0]?.measures?.[row.measure]?.sumDecimal !== row.total,
    ).length;
    process.stdout.write(
      `    sums equal to raw SQL: ${mismatches === 0 ? 'yes' : `NO (${mismatches} differ)`}\n`,
    );

    const rawP95 = () =>
      pool.query<{ day: Date; p95: number }>(
        `select date_trunc('day', occurred_at, 'UTC') as day,
                percentile_cont(0.95) within group (order by (measures->>'latencyMs')::float8) as p95
         from ${table} where event_name = 'chat.answer' and occurred_at >= $1 and occurred_at < $2 group by 1`,
        [from, to],
      );
    const sketchP95 = () =>
      cb.analytics.timeseries({ from, to, bucket: 'day', eventName: 'chat.answer', percentiles: true });
    const row = await duration({
      name: `p95 latency per day ${label}: sketches vs raw percentile_cont`,
      runs: 2,
      carebase: () =>
        cb.analytics.timeseries({
          from,
          to,
          bucket: 'day',
          eventName: 'chat.answer',
          percentiles: ['latencyMs'],
        }),
      raw: rawP95,
    });
    const days = await sketchP95();
    let worst = 0;
    for (const exact of (await rawP95()).rows) {
      const got = days.find((d) => d.bucketStart.getTime() === exact.day.getTime())?.measures?.latencyMs?.p95;
      if (got !== undefined) worst = Math.max(worst, Math.abs(got - exact.p95) / exact.p95);
    }
    process.stdout.write(
      `    ${row.name}: max relative error vs percentile_cont ${(worst * 100).toFixed(3)}%\n`,
    );

    const steps = ['user.login', 'chat.answer', 'careplan.view'];
    const within = 3_600_000;
    const reference = async () => {
      const w = `${within} milliseconds`;
      for (let k = 1; k <= steps.length; k++) {
        const joins = [];
        for (let j = 2; j <= k; j++) {
          joins.push(`join ${table} e${j} on e${j}.user_id = e1.user_id and e${j}.event_name = '${steps[j - 1]}'
            and e${j}.occurred_at >= e${j - 1}.occurred_at and e${j}.occurred_at <= e1.occurred_at + '${w}'::interval`);
        }
        await pool.query(
          `select count(distinct e1.user_id) from ${table} e1 ${joins.join(' ')}
           where e1.event_name = '${steps[0]}' and e1.occurred_at >= $1 and e1.occurred_at < $2 and e1.user_id is not null`,
          [from, to],
        );
      }
    };
    await duration({
      name: `3-step funnel (1 h window) ${label} vs reference SQL (joins)`,
      runs: 2,
      carebase: () => cb.analytics.funnel({ steps, within, from, to }),
      raw: reference,
    });
  }

  async function logs(): Promise<void> {
    const rows = Number(process.env.BENCH_API_LOGS_ROWS ?? 2_000_000);
    await pool.query('create schema hedis');
    await pool.query(`create table hedis.api_logs (
      id bigint generated always as identity,
      created_at timestamptz not null,
      method text not null,
      path text not null,
      status integer not null,
      latency_ms integer not null,
      primary key (created_at, id)
    ) partition by range (created_at)`);
    const apiLogs = cb.partitionedTable({
      schema: 'hedis',
      table: 'api_logs',
      column: 'created_at',
      interval: 'month',
      retentionMonths: 84,
      ahead: 3,
    });
    await apiLogs.register();
    const days = 90;
    const first = new Date(now.getTime() - days * 86_400_000);
    await apiLogs.ensurePartitions({ from: first, ahead: 4 });
    let started = performance.now();
    for (let offset = 0; offset < rows; offset += 1_000_000) {
      const size = Math.min(1_000_000, rows - offset);
      await pool.query(
        `insert into hedis.api_logs (created_at, method, path, status, latency_ms)
         select $1::timestamptz + (((i * 104729) % $3)::float8 / $3) * ($4 * interval '1 day'),
                (array['GET', 'POST'])[1 + i % 2],
                '/api/measures/' || ((i * 31) % 40),
                case when i % 50 = 0 then 500 else 200 end,
                round(exp(2.5 + ((i * 7919) % 1000) / 1000.0 * 4))
         from generate_series($2::bigint, $2::bigint + $5 - 1) i`,
        [first, offset, rows, days, size],
      );
    }
    await pool.query('create index api_logs_latency_idx on hedis.api_logs (latency_ms desc)');
    await pool.query('create index api_logs_path_idx on hedis.api_logs (path, created_at)');
    await pool.query('create index api_logs_errors_idx on hedis.api_logs (created_at) where status >= 500');
    await pool.query('vacuum analyze hedis.api_logs');
    const loadMs = performance.now() - started;
    started = performance.now();
    const { created } = await apiLogs.ensurePartitions();
    record({
      name: `api_logs: load ${rows.toLocaleString('en-US')} rows / ensurePartitions (this month + 3 ahead)`,
      unit: 'ms (median)',
      carebase: performance.now() - started,
      raw: loadMs,
      ratio: loadMs / (performance.now() - started),
      note: `created ${created}; informational`,
    });
    const since = new Date(now.getTime() - 86_400_000);
    const timed = async (name: string, text: string, values: unknown[]) => {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await pool.query(text, values);
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      const median = ms[2] ?? 0;
      record({
        name: `api_logs at ${rows.toLocaleString('en-US')} rows: ${name}`,
        unit: 'ms (median)',
        carebase: median,
        raw: 50,
        ratio: 50 / median,
        note: 'raw column = the 50 ms target',
      });
    };
    await timed(
      '10 slowest requests, last 24 h',
      'select id, created_at, path, status, latency_ms from hedis.api_logs where created_at >= $1 order by latency_ms desc limit 10',
      [since],
    );
    await timed(
      'p50/p95 latency, last hour',
      `select percentile_cont(array[0.5, 0.95]) within group (order by latency_ms) from hedis.api_logs where created_at >= $1`,
      [new Date(now.getTime() - 3_600_000)],
    );
    await timed(
      'requests and p95 of one path, last 24 h',
      `select count(*), percentile_cont(0.95) within group (order by latency_ms) from hedis.api_logs
       where path = '/api/measures/7' and created_at >= $1`,
      [since],
    );
    await timed(
      'error count, last 24 h',
      'select count(*) from hedis.api_logs where created_at >= $1 and status >= 500',
      [since],
    );
  }
}
