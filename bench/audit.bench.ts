import { type AuditEntryInput, createCarebase } from 'carebase';
import pg from 'pg';
import { benchDatabase, record, throughput } from './harness.ts';

const STRESS_SECONDS = Number(process.env.BENCH_AUDIT_STRESS_SECONDS ?? 10);

const COLUMNS =
  'occurred_at, actor_user_id, actor_type, action, resource_type, resource_id, subject_id, outcome, outcome_detail, ip, user_agent, request_id, changes, metadata';

/** The same table as audit_log (columns, partitions, indexes), without hashes, chain or triggers. */
const PLAIN_TABLE = `
  create table carebase.audit_plain (
    id bigint generated always as identity,
    occurred_at timestamptz not null default now(),
    actor_user_id uuid,
    actor_type text not null default 'system' check (actor_type in ('user', 'system', 'service')),
    action text not null,
    resource_type text not null,
    resource_id text,
    subject_id text,
    outcome text not null default 'success' check (outcome in ('success', 'failure')),
    outcome_detail text,
    ip inet,
    user_agent text,
    request_id text,
    changes jsonb,
    metadata jsonb,
    primary key (occurred_at, id)
  ) partition by range (occurred_at);
  create index on carebase.audit_plain (actor_user_id, occurred_at desc, id desc) where actor_user_id is not null;
  create index on carebase.audit_plain (resource_type, resource_id, occurred_at desc, id desc);
  create index on carebase.audit_plain (action, occurred_at desc, id desc);
  create index on carebase.audit_plain (subject_id, occurred_at desc, id desc) where subject_id is not null;
  select carebase.ensure_monthly_partitions('audit_plain', now(), 2);`;

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
  ];
}

/**
 * audit.log with tamper evidence vs a plain parameterized INSERT (named prepared statement) into
 * an equivalent unchained table; 8 writers for 10 s then verify. (The export's memory is measured
 * in audit-export-memory.bench.ts.)
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({ connectionString: database.url, pool: { max: 8 } });
  const cbSealed = createCarebase({
    connectionString: database.url,
    pool: { max: 8 },
    audit: { sealAfterWrite: true },
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  // database.drop() terminates connections the pool is still closing; don't crash on their error.
  pool.on('error', () => undefined);
  try {
    await cb.migrate();
    await pool.query(PLAIN_TABLE);
    const rawText = `insert into carebase.audit_plain (${COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb)`;
    const raw = () => pool.query({ name: 'raw_audit_insert', text: rawText, values: rawValues(entry()) });

    for (const concurrency of [1, 8]) {
      await throughput({
        name: 'audit.log default (sealAfterWrite false: grouped insert, sealed in background) vs plain INSERT',
        concurrency,
        carebase: () => cb.audit.log(entry()),
        raw,
      });
    }
    for (const concurrency of [1, 8]) {
      await throughput({
        name: 'audit.log sealAfterWrite true (grouped insert + seal in one transaction) vs plain INSERT',
        concurrency,
        carebase: () => cbSealed.audit.log(entry()),
        raw,
      });
    }
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
