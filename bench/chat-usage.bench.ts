import { createCarebase } from 'carebase';
import pg from 'pg';
import { benchDatabase, duration, record, throughput } from './harness.ts';

/**
 * The chat usage ledger:
 *   - append of an assistant message with usage vs a plain text append (carebase both sides: the
 *     cost of the ledger row and its dirty-day check in the message's transaction);
 *   - `chat.usage()` over the last 30 UTC days (today so far is the open tail, read from the
 *     ledger; once more from a time off the day boundary: a partial first day read from the ledger
 *     too) vs the same GROUP BY over the ledger, same run: by day and by model (day totals
 *     rollup), of one conversation and by user (per-owner rollup).
 * The ledger is generated in SQL: BENCH_USAGE_ROWS rows (default 1,000,000; the issue's case is
 * 10,000,000) over the last 30 days, 2,000 owners with 5 conversations each, a member authoring a
 * quarter of the calls, each conversation on one of 4 models (plus a mini model for a tenth of the
 * calls), each owner paying in one of 3 currencies, a twentieth of the calls without a cost.
 * BENCH_USAGE_ROWS=0 runs only the append comparison.
 */
export default async function run(): Promise<void> {
  const total = Number(process.env.BENCH_USAGE_ROWS ?? 1_000_000);
  const database = await benchDatabase();
  const cb = createCarebase({
    connectionString: database.url,
    pool: { max: 8, statementTimeoutMs: 0, applicationName: 'chat-usage-bench' },
    analytics: { autoRefreshIntervalMs: 0 },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  pool.on('error', () => undefined);
  const table = 'carebase.chat_usage';
  try {
    await cb.migrate();

    // --- append with usage vs plain append ---
    const users = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        cb.db
          .insertInto('users')
          .values({
            username: `usage_${i}`,
            email: `usage_${i}@example.org`,
            password_hash: 'x',
            role: 'nurse',
          })
          .returning('id')
          .executeTakeFirstOrThrow(),
      ),
    );
    let turn = 0;
    const next = () => (users[turn++ % users.length] as { id: string }).id;
    await throughput({
      name: 'append assistant message with usage vs plain append (x4)',
      concurrency: 4,
      carebase: () =>
        cb.chat.append({
          userId: next(),
          role: 'assistant',
          content: 'Take it with food, twice a day.',
          usage: {
            provider: 'openai',
            model: 'gpt-5',
            inputTokens: 1200,
            outputTokens: 300,
            cachedTokens: 100,
            cost: '0.004500000001',
            currency: 'USD',
            latencyMs: 2100,
            status: 'ok',
          },
        }),
      raw: () =>
        cb.chat.append({ userId: next(), role: 'assistant', content: 'Take it with food, twice a day.' }),
    });
    await pool.query(`truncate ${table}`);
    if (total <= 0) return;

    // --- the ledger at scale ---
    const now = new Date();
    const start = new Date(now.getTime() - 30 * 86_400_000);
    let started = performance.now();
    // Bulk-load shortcut: the secondary indexes are built once after the load (same definitions as
    // migration 0032).
    await pool.query('drop index carebase.chat_usage_created_at_idx, carebase.chat_usage_message_idx');
    for (let offset = 0; offset < total; offset += 1_000_000) {
      const size = Math.min(1_000_000, total - offset);
      await pool.query(
        `insert into ${table} (user_id, conversation_id, message_id, author_user_id, provider, model, input_tokens,
           output_tokens, cached_tokens, reasoning_tokens, cost, currency, latency_ms, status, created_at)
         select ('00000000-0000-4000-8000-' || lpad(o::text, 12, '0'))::uuid,
                ('00000000-0000-4000-9000-' || lpad((o * 5 + i % 5)::text, 12, '0'))::uuid,
                i,
                ('00000000-0000-4000-8000-' || lpad((case when i % 4 = 0 then (o + 1) % 2000 else o end)::text, 12, '0'))::uuid,
                (array['openai', 'anthropic', 'openai', 'local'])[1 + m],
                (array['gpt-5', 'claude', 'gpt-5-mini', 'llama'])[1 + m],
                500 + i % 3000, 50 + i % 700, i % 200, i % 90,
                case when i % 20 = 0 then null else round((i % 997) * 0.000001234567 + 0.0001, 12) end,
                case when i % 20 = 0 then null when o % 7 = 0 then 'EUR' when o % 11 = 0 then 'GBP' else 'USD' end,
                200 + i % 5000,
                (array['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'error', 'aborted'])[1 + i % 10],
                $1::timestamptz + (i::float8 / $3) * ($4::timestamptz - $1::timestamptz)
         from (
           select i, o, case when i % 10 = 0 then 2 else (o * 5 + i % 5) % 4 end as m
           from (select i, (i * 7919) % 2000 as o from generate_series($2::bigint, $2::bigint + $5 - 1) i) n
         ) g`,
        [start, offset, total, now, size],
      );
    }
    await pool.query(`create index chat_usage_created_at_idx on ${table} (created_at)`);
    await pool.query(
      `create index chat_usage_message_idx on ${table} (user_id, conversation_id, message_id)`,
    );
    await pool.query(`vacuum analyze ${table}`);
    const loadSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const refreshed = await cb.chat.refreshUsageRollups();
    const refreshSeconds = (performance.now() - started) / 1000;
    await pool.query('vacuum analyze carebase.chat_usage_daily, carebase.chat_usage_daily_totals');
    const { rows: sizes } = await pool.query<{ daily: string; totals: string }>(
      `select (select count(*) from carebase.chat_usage_daily)::text as daily,
              (select count(*) from carebase.chat_usage_daily_totals)::text as totals`,
    );
    record({
      name: `generate ${total.toLocaleString('en-US')} usage rows in SQL / first refreshUsageRollups (${refreshed.daysRefreshed} days)`,
      unit: 'ms (median)',
      carebase: refreshSeconds * 1000,
      raw: loadSeconds * 1000,
      ratio: loadSeconds / refreshSeconds,
      note: `carebase = refresh, raw = load; informational; rollup rows: ${sizes[0]?.daily} per owner, ${sizes[0]?.totals} day totals`,
    });

    // The admin panel's range: the last 30 UTC days, today included (today's rows so far are the
    // open tail, read from the ledger). Below, the same with a start off the day boundary.
    const to = now;
    const from = new Date(Math.floor(now.getTime() / 86_400_000) * 86_400_000 - 29 * 86_400_000);
    const runs = Number(process.env.BENCH_USAGE_RUNS ?? (total > 2_000_000 ? 3 : 5));
    const sums = `count(*), count(*) filter (where status = 'ok'), count(*) filter (where status = 'error'),
      count(*) filter (where status = 'aborted'), sum(input_tokens)::text, sum(output_tokens)::text,
      sum(cached_tokens)::text, sum(reasoning_tokens)::text, sum(cost)::text`;
    // The raw side at its best: a day is formatted per group, not per row.
    const rawReport = (key: string, filter = '', params: unknown[] = [], start = from) =>
      pool.query(
        `select ${key === 'day' ? `to_char(key, 'YYYY-MM-DD')` : 'key'}, x.* from (
           select ${key === 'day' ? `date_trunc('day', created_at at time zone 'UTC')` : key} as key, currency, ${sums}
           from ${table} where created_at >= $1 and created_at < $2 ${filter} group by 1, 2
         ) x order by 1, 2`,
        [start, to, ...params],
      );
    const rows = total.toLocaleString('en-US');
    await duration({
      name: `chat.usage by day, 30 days over ${rows} rows vs raw GROUP BY`,
      runs,
      carebase: () => cb.chat.usage({ from, to, groupBy: 'day' }),
      raw: () => rawReport('day'),
    });
    const ragged = new Date(to.getTime() - 30 * 86_400_000 + 17 * 60_000);
    await duration({
      name: `chat.usage by day, 30 days from a time off the day boundary, over ${rows} rows vs raw GROUP BY`,
      runs,
      carebase: () => cb.chat.usage({ from: ragged, to, groupBy: 'day' }),
      raw: () => rawReport('day', '', [], ragged),
    });
    await duration({
      name: `chat.usage by model, 30 days over ${rows} rows vs raw GROUP BY`,
      runs,
      carebase: () => cb.chat.usage({ from, to, groupBy: 'model' }),
      raw: () => rawReport('model'),
    });
    const conversationId = '00000000-0000-4000-9000-000000000042';
    await duration({
      name: `chat.usage of one conversation by day, 30 days over ${rows} rows vs raw GROUP BY`,
      runs,
      carebase: () => cb.chat.usage({ from, to, conversationId, groupBy: 'day' }),
      raw: () => rawReport('day', 'and conversation_id = $3', [conversationId]),
    });
    await duration({
      name: `chat.usage by user, 30 days over ${rows} rows vs raw GROUP BY`,
      runs,
      carebase: () => cb.chat.usage({ from, to, groupBy: 'user' }),
      raw: () => rawReport('author_user_id::text'),
    });
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
