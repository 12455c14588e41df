import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCarebase } from 'carebase';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { benchDatabase, duration, record, throughput } from './harness.ts';

/**
 * Analytics: bulk ingest vs the best raw method from Node (binary COPY; text COPY and unnest for
 * reference), single `track` vs a raw prepared INSERT, and 30-day `summary` / `timeseries` over 10M events vs
 * a plain GROUP BY on the raw table. `BENCH_ANALYTICS_EVENTS` overrides the 10M (e.g. for a
 * quick run); the big data set is generated once, in SQL. `BENCH_ANALYTICS_ONLY=ingest` runs only
 * the `trackMany` comparisons, `BENCH_ANALYTICS_ONLY=raw` only the raw methods against each other;
 * `BENCH_ANALYTICS_INGEST_RUNS` sets the number of runs of each (default 3).
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const now = new Date();
  const cb = createCarebase({
    connectionString: database.url,
    pool: { max: 8, statementTimeoutMs: 0 },
    analytics: { autoRefreshIntervalMs: 0 },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  pool.on('error', () => undefined); // an idle connection terminated by the server must not crash the run
  const table = 'carebase.analytics_events';
  const columns = '(occurred_at, user_id, session_id, event_type, event_name, data)';
  try {
    await cb.migrate();
    await pool.query(
      `select carebase.ensure_monthly_partitions('analytics_events', now() - interval '2 months', 3)`,
    );

    // --- bulk ingest: 200k events, same objects for every side ---
    const events = Array.from({ length: 200_000 }, (_, i) => ({
      userId: `00000000-0000-4000-8000-${String(i % 5000).padStart(12, '0')}`,
      sessionId: `session-${i % 997}`,
      eventType: 'feature',
      eventName: `chat.action_${i % 20}`,
      data: { i, model: 'small', ok: true },
      occurredAt: new Date(now.getTime() - (i % 3600) * 1000),
    }));
    const escapeCopy = (s: string) =>
      s.replace(/[\\\n\r\t]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
      );
    const rawCopy = async () => {
      const client = await pool.connect();
      try {
        const stream = client.query(copyFrom(`COPY ${table} ${columns} FROM STDIN`));
        function* chunks() {
          for (let start = 0; start < events.length; start += 4000) {
            let text = '';
            for (const e of events.slice(start, start + 4000)) {
              text += `${e.occurredAt.toISOString()}\t${e.userId}\t${escapeCopy(e.sessionId)}\t${e.eventType}\t${e.eventName}\t${escapeCopy(JSON.stringify(e.data))}\n`;
            }
            yield text;
          }
        }
        await pipeline(Readable.from(chunks()), stream);
      } finally {
        client.release();
      }
    };
    // Binary COPY: no text parsing of timestamps and UUIDs on the server (jsonb is still parsed).
    const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
    const binaryRows = function* () {
      yield Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');
      for (let start = 0; start < events.length; start += 4000) {
        const chunk = events.slice(start, start + 4000);
        const buffer = Buffer.allocUnsafe(chunk.length * 512); // these rows are far smaller
        let at = 0;
        const text = (value: string) => {
          const length = buffer.write(value, at + 4, 'utf8');
          buffer.writeInt32BE(length, at);
          at += 4 + length;
        };
        for (const e of chunk) {
          buffer.writeInt16BE(6, at);
          buffer.writeInt32BE(8, at + 2);
          buffer.writeBigInt64BE(BigInt(e.occurredAt.getTime() - PG_EPOCH_MS) * 1000n, at + 6);
          buffer.writeInt32BE(16, at + 14);
          buffer.write(e.userId.replaceAll('-', ''), at + 18, 'hex');
          at += 34;
          text(e.sessionId);
          text(e.eventType);
          text(e.eventName);
          text(`\x01${JSON.stringify(e.data)}`); // jsonb version 1
        }
        yield buffer.subarray(0, at);
      }
      yield Buffer.from([0xff, 0xff]);
    };
    const rawBinaryCopy = async () => {
      const client = await pool.connect();
      try {
        const stream = client.query(copyFrom(`COPY ${table} ${columns} FROM STDIN (FORMAT binary)`));
        await pipeline(Readable.from(binaryRows()), stream);
      } finally {
        client.release();
      }
    };
    const rawUnnest = async () => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        for (let start = 0; start < events.length; start += 10_000) {
          const chunk = events.slice(start, start + 10_000);
          await client.query(
            `insert into ${table} ${columns} select * from unnest($1::timestamptz[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
            [
              chunk.map((e) => e.occurredAt.toISOString()),
              chunk.map((e) => e.userId),
              chunk.map((e) => e.sessionId),
              chunk.map((e) => e.eventType),
              chunk.map((e) => e.eventName),
              chunk.map((e) => JSON.stringify(e.data)),
            ],
          );
        }
        await client.query('commit');
      } finally {
        client.release();
      }
    };
    const truncate = () => pool.query(`truncate ${table}`);
    const only = process.env.BENCH_ANALYTICS_ONLY;
    const ingestRuns = Number(process.env.BENCH_ANALYTICS_INGEST_RUNS ?? 3);
    /**
     * A duration case that also prints each run's time and this process's CPU time: the spread
     * matters on a shared machine, and the server's work is the same on both sides.
     */
    const ingest = async (
      name: string,
      runs: number,
      carebase: () => Promise<unknown>,
      raw: () => Promise<unknown>,
    ) => {
      const ms = { carebase: [] as number[], raw: [] as number[] };
      const cpu = { carebase: [] as number[], raw: [] as number[] };
      const timed = (side: 'carebase' | 'raw', fn: () => Promise<unknown>) => async () => {
        const started = performance.now();
        const cpuStarted = process.cpuUsage();
        await fn();
        const used = process.cpuUsage(cpuStarted);
        ms[side].push(Math.round(performance.now() - started));
        cpu[side].push(Math.round((used.user + used.system) / 1000));
      };
      await duration({
        name,
        runs,
        beforeEach: truncate,
        carebase: timed('carebase', carebase),
        raw: timed('raw', raw),
      });
      const ratios = ms.carebase.map((carebaseMs, i) => ((ms.raw[i] ?? 0) / carebaseMs).toFixed(2));
      process.stdout.write(
        `    runs (ms): carebase ${ms.carebase.join(', ')}; raw ${ms.raw.join(', ')}; per-run ratios ${ratios.join(', ')}\n` +
          `    Node CPU (ms): carebase ${cpu.carebase.join(', ')}; raw ${cpu.raw.join(', ')}\n`,
      );
    };
    const trackMany = () => cb.analytics.trackMany(events);
    if (only === undefined || only === 'ingest') {
      await ingest(
        'trackMany 200k events vs raw binary COPY (best raw method)',
        ingestRuns,
        trackMany,
        rawBinaryCopy,
      );
      await ingest('trackMany 200k events vs raw text COPY', ingestRuns, trackMany, rawCopy);
    }
    if (only === undefined || only === 'raw') {
      // Which raw method is best: the carebase side is another raw method here.
      await ingest(
        'raw text COPY (carebase side) vs raw binary COPY, 200k events',
        ingestRuns,
        rawCopy,
        rawBinaryCopy,
      );
      await ingest('raw unnest (carebase side) vs raw binary COPY, 200k events', 2, rawUnnest, rawBinaryCopy);
    }
    if (only !== undefined) return;
    await truncate();

    // --- single event ---
    const insertText = `insert into ${table} ${columns} values ($1, $2, $3, $4, $5, $6)`;
    let n = 0;
    for (const concurrency of [1, 8]) {
      await throughput(
        {
          name: 'track one event vs raw prepared INSERT',
          concurrency,
          carebase: () =>
            cb.analytics.track({
              userId: '00000000-0000-4000-8000-000000000001',
              eventType: 'feature',
              eventName: 'chat.message_sent',
              data: { n: n++ },
            }),
          raw: () =>
            pool.query({
              name: 'bench_insert_event',
              text: insertText,
              values: [
                new Date(),
                '00000000-0000-4000-8000-000000000001',
                null,
                'feature',
                'chat.message_sent',
                JSON.stringify({ n: n++ }),
              ],
            }),
        },
        { rounds: 4, roundMs: 1000 },
      );
    }
    await truncate();

    // --- 10M events, generated in SQL, then rolled up ---
    const total = Number(process.env.BENCH_ANALYTICS_EVENTS ?? 10_000_000);
    if (total <= 0) return;
    const spanDays = 35;
    const start = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - spanDays * 86_400_000);
    let started = performance.now();
    // Bulk-load shortcut: the dirty-hour trigger is pointless before the first refresh (which
    // rolls up everything) and would spool every generated row into a transition table.
    await pool.query(`alter table ${table} disable trigger analytics_events_dirty_insert`);
    for (let offset = 0; offset < total; offset += 1_000_000) {
      const size = Math.min(1_000_000, total - offset);
      await pool.query(
        `insert into ${table} (occurred_at, user_id, event_type, event_name, data)
         select $1::timestamptz + ((i::float8 / $3) * $4) * interval '1 day',
                case when i % 10 = 0 then null
                     else ('00000000-0000-4000-8000-' || lpad(((i * 7919) % 5000)::text, 12, '0'))::uuid end,
                (array['feature', 'page', 'auth', 'export'])[1 + (i % 4)],
                'event.n' || ((i * 31) % 20),
                case when i % 100 = 0 then '{"k": 1}'::jsonb end
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
      'vacuum analyze carebase.analytics_rollup_hourly, carebase.analytics_rollup_hourly_users',
    );
    record({
      name: `generate ${total.toLocaleString('en-US')} events in SQL / first refreshRollups`,
      unit: 'ms (median)',
      carebase: refreshSeconds * 1000,
      raw: loadSeconds * 1000,
      ratio: loadSeconds / refreshSeconds,
      note: 'carebase = refresh, raw = load; informational',
    });

    // 30 days, edges off the hour, inside the generated span.
    const from = new Date(start.getTime() + 2 * 86_400_000 + 17 * 60_000 + 3_000);
    const to = new Date(from.getTime() + 30 * 86_400_000);
    await duration({
      name: `summary 30 days over ${total.toLocaleString('en-US')} events vs plain GROUP BY`,
      runs: 2,
      carebase: () => cb.analytics.summary({ from, to }),
      raw: async () => {
        await pool.query(
          `select count(*), count(distinct user_id) from ${table} where occurred_at >= $1 and occurred_at < $2`,
          [from, to],
        );
        await pool.query(
          `select event_type, event_name, count(*), count(distinct user_id) from ${table}
           where occurred_at >= $1 and occurred_at < $2 group by 1, 2`,
          [from, to],
        );
      },
    });
    await duration({
      name: `timeseries day/America/New_York 30 days over ${total.toLocaleString('en-US')} events vs plain GROUP BY`,
      runs: 2,
      carebase: () => cb.analytics.timeseries({ from, to, bucket: 'day', timezone: 'America/New_York' }),
      raw: () =>
        pool.query(
          `select date_trunc('day', occurred_at, 'America/New_York') as day, count(*), count(distinct user_id)
           from ${table} where occurred_at >= $1 and occurred_at < $2 group by 1 order by 1`,
          [from, to],
        ),
    });
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
