import { createCarebase } from 'carebase';
import pg from 'pg';
import { AUDIT_PLAIN_COLUMNS, AUDIT_PLAIN_TABLE } from './audit-plain.ts';
import { benchDatabase, duration, record, throughput } from './harness.ts';

/** Entries in the log the report benchmark searches (BENCH_AUDIT_REPORT_ROWS, default 10M). */
const LOG_ROWS = Number(process.env.BENCH_AUDIT_REPORT_ROWS ?? 10_000_000);
/** Entries about the subject the report is about. */
const SUBJECT_ROWS = 1000;
const MONTHS = 12;

const USER = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
let n = 0;

/**
 * 1. `scope.audit.access()` (a chart view: the read-access event) at 1 and 8 writers vs a plain
 *    INSERT of the same row (named prepared statement) into an equivalent unchained table.
 * 2. `audit.report.accessesToSubject()` and `disclosures()` for one subject with 1,000 entries
 *    among BENCH_AUDIT_REPORT_ROWS (default 10M) entries over 12 months, vs the one raw query.
 */
export default async function run(): Promise<void> {
  const database = await benchDatabase();
  const cb = createCarebase({ connectionString: database.url, pool: { max: 8 } });
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  pool.on('error', () => undefined);
  try {
    await cb.migrate();
    await pool.query(AUDIT_PLAIN_TABLE);
    const scoped = cb.withActor({ userId: USER, ip: '10.0.0.1', userAgent: 'Mozilla/5.0 bench' });
    const rawText = `insert into carebase.audit_plain (${AUDIT_PLAIN_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16, $17, $18, $19, $20, $21)`;
    const raw = () => {
      n++;
      return pool.query({
        name: 'raw_access_insert',
        text: rawText,
        values: [
          new Date(),
          USER,
          'user',
          'record.access',
          'chart',
          `chart-${n % 1000}`,
          `patient-${n % 500}`,
          'success',
          null,
          '10.0.0.1',
          'Mozilla/5.0 bench',
          null,
          null,
          null,
          'info',
          'TREAT',
          null,
          null,
          null,
          false,
          null,
        ],
      });
    };
    const access = () => {
      n++;
      return scoped.audit.access({
        subjectId: `patient-${n % 500}`,
        resourceType: 'chart',
        resourceId: `chart-${n % 1000}`,
        purpose: 'TREAT',
      });
    };
    for (const concurrency of [1, 8]) {
      await throughput({
        name: 'audit.access (chart view) vs plain INSERT',
        concurrency,
        carebase: access,
        raw,
      });
    }
    // The same row through audit.log(), in the same run (the machine's load moves both alike).
    await throughput({
      name: 'audit.log (the same chart view) vs plain INSERT',
      concurrency: 8,
      carebase: () => {
        n++;
        return scoped.audit.log({
          action: 'record.access',
          subjectId: `patient-${n % 500}`,
          resourceType: 'chart',
          resourceId: `chart-${n % 1000}`,
          purposeOfUse: 'TREAT',
        });
      },
      raw,
    });
    if (LOG_ROWS === 0) return;

    // The report: LOG_ROWS entries over 12 months (bulk-loaded as the owner without the hash
    // trigger: reports read no hashes), 1,000 of them about the subject, 20 of those disclosures.
    const started = performance.now();
    await pool.query("select carebase.audit_ensure_partitions(now() - interval '12 months', 13)");
    const client = await pool.connect();
    try {
      await client.query('set session_replication_role = replica');
      const chunk = 1_000_000;
      for (let offset = 0; offset < LOG_ROWS; offset += chunk) {
        const count = Math.min(chunk, LOG_ROWS - offset);
        await client.query(
          `insert into carebase.audit_log (occurred_at, actor_user_id, actor_type, action, resource_type, resource_id, subject_id, ip, purpose_of_use, txid)
           select now() - (random() * interval '${MONTHS} months'), $1, 'user', 'record.access', 'chart', 'chart-' || (g % 100000),
                  'patient-' || (g % 200000), '10.0.0.1', 'TREAT', 0
             from generate_series($2::bigint, $3::bigint) g`,
          [USER, offset, offset + count - 1],
        );
      }
      await client.query(
        `insert into carebase.audit_log (occurred_at, actor_user_id, actor_type, action, resource_type, subject_id, ip, purpose_of_use, recipient, description, txid)
         select now() - (random() * interval '${MONTHS} months'), $1, 'user',
                case when g % 50 = 0 then 'record.disclose' else 'record.access' end, 'chart', 'target-subject', '10.0.0.2', 'TREAT',
                case when g % 50 = 0 then 'Insurer Inc.' end, case when g % 50 = 0 then 'claim' end, 0
           from generate_series(1, ${SUBJECT_ROWS}) g`,
        [USER],
      );
      await client.query('set session_replication_role = origin');
      await client.query('analyze carebase.audit_log');
    } finally {
      client.release();
    }
    const loadSeconds = (performance.now() - started) / 1000;
    const rawReport = () =>
      pool.query(`select * from carebase.audit_log where subject_id = $1 order by occurred_at, id`, [
        'target-subject',
      ]);
    let rows = 0;
    const row = await duration({
      name: `audit.report.accessesToSubject: ${SUBJECT_ROWS} entries of one subject among ${(LOG_ROWS / 1e6).toFixed(1)}M (streamed, all pages) vs one raw query`,
      runs: 15,
      carebase: async () => {
        rows = 0;
        for await (const _ of cb.audit.report.accessesToSubject({ subjectId: 'target-subject' })) rows++;
      },
      raw: rawReport,
    });
    record({
      name: `  (loaded ${LOG_ROWS} entries in ${loadSeconds.toFixed(0)} s; report rows: ${rows}; target < 100 ms: ${row.carebase < 100 ? 'met' : 'NOT met'})`,
      unit: 'ms (median)',
      carebase: row.carebase,
      raw: row.raw,
      ratio: row.ratio,
    });
    await duration({
      name: `audit.report.disclosures: ${SUBJECT_ROWS / 50} disclosures of one subject among ${(LOG_ROWS / 1e6).toFixed(1)}M vs one raw query`,
      runs: 15,
      carebase: async () => {
        for await (const _ of cb.audit.report.disclosures({ subjectId: 'target-subject' })) rows++;
      },
      raw: () =>
        pool.query(
          'select * from carebase.audit_log where subject_id = $1 and recipient is not null order by occurred_at, id',
          ['target-subject'],
        ),
    });
  } finally {
    await cb.close();
    await pool.end();
    await database.drop();
  }
}
