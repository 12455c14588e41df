import { type AuditEntryInput, createCarebase } from 'carebase';
import pg from 'pg';
import { AUDIT_PLAIN_COLUMNS, AUDIT_PLAIN_TABLE } from './audit-plain.ts';
import { benchDatabase, compare, record } from './harness.ts';

const STRESS_SECONDS = Number(process.env.BENCH_AUDIT_STRESS_SECONDS ?? 10);

let n = 0;
function entry(): AuditEntryInput {
  n++;
  return {
    action: 'chart.view',
    resourceType: 'chart',
    resourceId: `chart-${n % 1000}`,
    subjectId: `patient-${n % 500}`,
    userId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    ip: '10.0.0.1',
    userAgent: 'Mozilla/5.0 bench',
    requestId: `req-${n}`,
    changes: { field: 'dose', from: 1, to: 2 },
  };
}

function rawValues(e: AuditEntryInput): unknown[] {
  return [
    new Date(),
    e.userId,
    'user',
    e.action,
    e.resourceType,
    e.resourceId,
    e.subjectId,
    'success',
    null,
    e.ip,
    e.userAgent,
    e.requestId,
    JSON.stringify(e.changes),
    null,
    'info',
    null,
    null,
    null,
    null,
    false,
    null,
  ];
}

/**
 * audit.log with tamper evidence vs a plain parameterized INSERT (named prepared statement) into
 * an equivalent unchained table; 8 writers for 10 s then verify. (The export's memory is measured
 * in audit-export-memory.bench.ts.)
 */
/** Sealing statements sent by the instrumented pools (calls of audit_seal / audit_seal_pending). */
const sent = { seal: 0 };

/** A real pg client that counts the sealing statements it sends (bench instrumentation only). */
class CountingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query signature
  override query(...args: any[]): any {
    const [config] = args;
    const text = typeof config === 'string' ? config : (config as { text?: string } | undefined)?.text;
    if (text?.includes('audit_seal') === true) sent.seal++;
    // biome-ignore lint/suspicious/noExplicitAny: forwarding the same overload
    return (super.query as (...a: any[]) => any)(...args);
  }
}

/**
 * audit.log with tamper evidence vs a plain parameterized INSERT (named prepared statement) into
 * an equivalent unchained table, x1 and x8, default configuration and sealAfterWrite; each case
 * first settles what the previous one left (unsealed entries, passes in flight) and reports it,
 * and each reports its seal statements per entry. Then 8 writers for 10 s and verify. (The
 * export's memory is measured in audit-export-memory.bench.ts.)
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const pools = [1, 2].map(
    () => new pg.Pool({ connectionString: database.url, max: 8, Client: CountingClient }),
  );
  for (const p of pools) p.on('error', () => undefined);
  const [defaultPool, sealedPool] = pools as [pg.Pool, pg.Pool];
  const cb = createCarebase({ connectionString: database.url, pool: { max: 8 } }, { pool: defaultPool });
  const cbSealed = createCarebase(
    { connectionString: database.url, pool: { max: 8 }, audit: { sealAfterWrite: true } },
    { pool: sealedPool },
  );
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  // database.drop() terminates connections the pool is still closing; don't crash on their error.
  pool.on('error', () => undefined);
  try {
    await cb.migrate();
    await pool.query(AUDIT_PLAIN_TABLE);
    const rawText = `insert into carebase.audit_plain (${AUDIT_PLAIN_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16, $17, $18, $19, $20, $21) returning id`;
    const raw = () => pool.query({ name: 'raw_audit_insert', text: rawText, values: rawValues(entry()) });
    /** Drains what the previous case left: unsealed entries and busy backends, then seals. */
    const settle = async (): Promise<string> => {
      const { rows } = await pool.query<{ unsealed: number; busy: number }>(
        `select (select count(*) from carebase.audit_log) - (select count(*) from carebase.audit_chain) as unsealed,
          (select count(*)::int from pg_stat_activity where datname = current_database() and state = 'active'
            and pid <> pg_backend_pid()) as busy`,
      );
      await cb.audit.seal();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return `${rows[0]?.unsealed ?? 0} unsealed entries, ${rows[0]?.busy ?? 0} busy backends`;
    };

    const cases = [
      { label: 'default (sealAfterWrite false: grouped insert, sealed within 50 ms)', instance: cb },
      { label: 'sealAfterWrite true (grouped insert + seal in one transaction)', instance: cbSealed },
    ];
    for (const { label, instance } of cases) {
      for (const concurrency of [1, 8]) {
        let logged = 0;
        await settle();
        sent.seal = 0;
        const row = await compare({
          name: `audit.log ${label}`,
          concurrency,
          settle,
          carebase: async () => {
            await instance.audit.log(entry());
            logged++;
          },
          others: { 'raw INSERT': raw },
        });
        record({
          name: `  seal statements per entry, ${label} (x${concurrency})`,
          unit: 'ops/s',
          carebase: sent.seal / Math.max(1, logged),
          raw: 0,
          ratio: row.ratio,
          note: `${sent.seal} seal statements for ${logged} entries (ratio column repeats carebase/raw)`,
        });
      }
    }
    await settle();
    {
      const started = performance.now();
      const result = await cb.audit.verify();
      const checked = result.checked;
      record({
        name: `audit.verify() of every entry logged so far (${checked} entries, ok=${result.ok})`,
        unit: 'ops/s',
        carebase: checked / ((performance.now() - started) / 1000),
        raw: checked / ((performance.now() - started) / 1000),
        ratio: 1,
        note: 'entries verified per second; no raw equivalent',
      });
    }

    // 8 concurrent writers (default configuration) for 10 s, sampling how many committed entries
    // wait for their seal (every 20 ms), then verify.
    {
      const deadline = performance.now() + STRESS_SECONDS * 1000;
      let written = 0;
      const unsealed: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const { rows } = await pool.query<{ n: number }>(
            'select (select count(*) from carebase.audit_log) - (select count(*) from carebase.audit_chain) as n',
          );
          unsealed.push(Number(rows[0]?.n ?? 0));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (performance.now() < deadline) {
            await cb.audit.log(entry());
            written++;
          }
        }),
      );
      sampling = false;
      await sampler;
      const result = await cb.audit.verify();
      unsealed.sort((a, b) => a - b);
      const rate = written / STRESS_SECONDS;
      const median = unsealed[Math.floor(unsealed.length / 2)] ?? 0;
      const max = unsealed[unsealed.length - 1] ?? 0;
      record({
        name: `8 writers x ${STRESS_SECONDS} s then verify: ${written} written, ok=${result.ok}, checked=${result.checked}; committed but not yet sealed: median ${median}, max ${max} entries (~${((median / rate) * 1000).toFixed(0)} ms / ${((max / rate) * 1000).toFixed(0)} ms of writes)`,
        unit: 'ops/s',
        carebase: rate,
        raw: rate,
        ratio: 1,
        note: result.ok ? 'chain verifies' : `TAMPER REPORTED at ${result.firstBadId}`,
      });
    }
  } finally {
    await cb.close();
    await cbSealed.close();
    await pool.end();
    await database.drop();
  }
}
