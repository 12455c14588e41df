import type { CheckResult, DoctorContext } from './doctor-check.js';

/** Above this, session expiry and lockout windows computed here and on the server disagree. */
const MAX_SKEW_MS = 1_000;

/** Clock skew between this host and the server, corrected for the round trip. */
export async function checkClock(context: DoctorContext): Promise<CheckResult> {
  const before = Date.now();
  const { rows } = await context.pool.query<{ ms: string }>(
    'select (extract(epoch from clock_timestamp()) * 1000)::bigint::text as ms',
  );
  const after = Date.now();
  const skew = Number(rows[0]?.ms ?? 0) - (before + after) / 2;
  const rounded = Math.round(skew);
  const text = `${Math.abs(rounded)} ms ${rounded >= 0 ? 'ahead of' : 'behind'} this host (round trip ${after - before} ms)`;
  if (Math.abs(skew) > MAX_SKEW_MS) {
    return {
      id: 'clock',
      status: 'warn',
      summary: `the server's clock is ${text}`,
      hint: 'synchronise both clocks (NTP): session expiry and lockout windows depend on them agreeing',
    };
  }
  return { id: 'clock', status: 'ok', summary: `the server's clock is ${text}` };
}
