import { type RawBuilder, sql } from 'kysely';
import type { RepositoryContext } from '../context.js';
import type { AnalyticsFunnel } from './funnel-input.js';

/** A parsed funnel request. */
export interface FunnelQuery {
  readonly steps: readonly string[];
  readonly within: number;
  readonly from: Date;
  readonly to: Date;
  readonly by?: 'user' | 'session' | undefined;
}

/**
 * Counts, per step, the users (or sessions) that did the steps in order: a user reaches step k
 * when there are events of steps 1..k at non-decreasing times t1 <= ... <= tk with t1 in
 * [from, to) and tk - t1 <= within (later steps may fall after `to`).
 *
 * One statement over the raw events of the step names, one window pass per step: for each event
 * of step k it keeps the latest start t1 of any chain of steps 1..k ending at it (the running max
 * over the earlier-or-same-time chains ending in step k - 1), and drops events whose latest
 * start is more than `within` before them. Keeping the latest start is enough: a later start
 * only loosens the window for every later step.
 */
export async function funnel(ctx: RepositoryContext, query: FunnelQuery): Promise<AnalyticsFunnel> {
  const events = sql.id(ctx.config.schema, 'analytics_events');
  // Native types sort fastest: uuid, or text in the C collation (byte order).
  const actor = query.by === 'session' ? sql`session_id collate "C"` : sql`user_id`;
  const within = `${query.within} milliseconds`;
  const until = new Date(query.to.getTime() + query.within);
  const ctes: RawBuilder<unknown>[] = [
    sql`ev as materialized (
      select ${actor} as a, occurred_at as t, event_name as n from ${events}
      where occurred_at >= ${query.from} and occurred_at <= ${until}
        and event_name = any(${[...query.steps]}::text[]) and ${actor} is not null
    )`,
    sql`s0 as (select a, t, t as s from ev where n = ${query.steps[0]} and t < ${query.to})`,
  ];
  for (let k = 1; k < query.steps.length; k++) {
    const previous = sql.raw(`s${k - 1}`);
    ctes.push(sql`${sql.raw(`s${k}`)} as (
      select a, t, s from (
        select a, t, k, max(s) over (partition by a order by t, k rows unbounded preceding) as s from (
          select a, t, s, 0 as k from ${previous}
          union all select a, t, null, 1 from ev where n = ${query.steps[k]}
        ) x
      ) y where k = 1 and s is not null and t - s <= ${within}::interval
    )`);
  }
  const counts = query.steps.map((_, k) => sql`(select count(distinct a) from ${sql.raw(`s${k}`)})`);
  const { rows } = await sql<{ counts: string[] }>`
    with ${sql.join(ctes)} select array[${sql.join(counts)}]::bigint[] as counts`.execute(ctx.db);
  const values = (rows[0]?.counts ?? []).map(Number);
  const first = values[0] ?? 0;
  return {
    steps: query.steps.map((eventName, k) => {
      const count = values[k] ?? 0;
      const previous = k === 0 ? count : (values[k - 1] ?? 0);
      return {
        eventName,
        count,
        conversionRate: k === 0 ? 1 : first === 0 ? 0 : count / first,
        stepConversionRate: k === 0 ? 1 : previous === 0 ? 0 : count / previous,
      };
    }),
  };
}
