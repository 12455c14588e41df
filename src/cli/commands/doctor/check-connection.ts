import type { CheckResult, DoctorContext } from './doctor-check.js';

const SUPPORTED = { min: 14, max: 18 };

function isLocal(host: string): boolean {
  return host.startsWith('/') || host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Connection, TLS and server version. */
export async function checkConnection(context: DoctorContext): Promise<CheckResult[]> {
  const started = performance.now();
  const { rows } = await context.pool.query<{
    num: number;
    version: string;
    ssl: boolean | null;
    tls: string | null;
  }>(
    `select current_setting('server_version_num')::int as num, current_setting('server_version') as version,
            s.ssl, s.version as tls
       from (select 1) one left join pg_stat_ssl s on s.pid = pg_backend_pid()`,
  );
  const latency = Math.round(performance.now() - started);
  const row = rows[0];
  const major = Math.floor((row?.num ?? 0) / 10_000);
  context.serverMajor = major;
  const { host, ssl } = context.config.connection;
  const tls = row?.ssl === true;
  const local = isLocal(host);
  let connection: CheckResult;
  if (!tls && !local) {
    connection = {
      id: 'connection',
      status: 'warn',
      summary: `connected in ${latency} ms without TLS to ${host}`,
      hint: 'the connection crosses a network unencrypted: set DB_SSL=verify-full (or ?sslmode=verify-full)',
    };
  } else if (tls && ssl.mode !== 'verify-full' && !local) {
    connection = {
      id: 'connection',
      status: 'warn',
      summary: `connected in ${latency} ms with ${row?.tls ?? 'TLS'}, without verifying the server certificate`,
      hint: 'set DB_SSL=verify-full (with DB_SSL_CA for a private CA) so a man in the middle cannot pose as the server',
    };
  } else {
    connection = {
      id: 'connection',
      status: 'ok',
      summary: `connected in ${latency} ms; ${tls ? `${row?.tls ?? 'TLS'}${ssl.mode === 'verify-full' ? ', certificate verified' : ''}` : 'TLS off (local connection)'}`,
    };
  }
  const supported = major >= SUPPORTED.min && major <= SUPPORTED.max;
  return [
    connection,
    {
      id: 'server-version',
      status: supported ? 'ok' : 'warn',
      summary: `PostgreSQL ${row?.version ?? 'unknown'} (carebase supports ${SUPPORTED.min}-${SUPPORTED.max})`,
      ...(supported ? {} : { hint: `carebase is tested on PostgreSQL ${SUPPORTED.min} to ${SUPPORTED.max}` }),
    },
  ];
}
