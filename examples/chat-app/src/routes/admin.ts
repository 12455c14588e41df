/** The admin view's data: the analytics summary for the chart, and the audit trail. */
import type { AuditEntry } from 'carebase';
import { type RequestContext, requireAdmin } from '../context.ts';
import { HttpError, sendJson } from '../http.ts';

const DAY_MS = 86_400_000;

/** GET /api/admin/summary?days=7: event counts of the last `days` days (1-90). */
export async function summary(ctx: RequestContext): Promise<void> {
  const { scope } = await requireAdmin(ctx);
  const days = Number(ctx.url.searchParams.get('days') ?? '7');
  if (!Number.isInteger(days) || days < 1 || days > 90) {
    throw new HttpError(400, 'validation', 'days must be an integer from 1 to 90.', 'days');
  }
  // The range is half-open [from, to): end a minute ahead so events of this very second count.
  const to = new Date(Date.now() + 60_000);
  const from = new Date(to.getTime() - days * DAY_MS);
  const result = await scope.analytics.summary({ from, to });
  sendJson(ctx.res, 200, { from: from.toISOString(), to: to.toISOString(), ...result });
}

/**
 * GET /api/admin/dashboard: tokens and cost per day and p95 answer latency (last 14 days), the
 * login -> chat -> search funnel (within a day, last 14 days), and weekly retention (last 8 weeks).
 */
export async function dashboard(ctx: RequestContext): Promise<void> {
  const { scope } = await requireAdmin(ctx);
  const to = new Date(Date.now() + 60_000);
  const from = new Date(to.getTime() - 14 * DAY_MS);
  const [days, funnel, retention] = await Promise.all([
    scope.analytics.timeseries({
      from,
      to,
      bucket: 'day',
      eventName: 'chat.answer',
      percentiles: ['latencyMs'],
    }),
    scope.analytics.funnel({
      steps: ['auth.login', 'chat.message_sent', 'chat.search'],
      within: DAY_MS,
      from,
      to,
    }),
    scope.analytics.retention({
      cohortEvent: 'auth.login',
      returnEvent: 'chat.message_sent',
      period: 'week',
      from: new Date(to.getTime() - 8 * 7 * DAY_MS),
      to,
    }),
  ]);
  sendJson(ctx.res, 200, {
    days: days.map((day) => ({
      day: day.bucketStart.toISOString().slice(0, 10),
      answers: day.measures?.tokens?.count ?? 0,
      tokens: day.measures?.tokens?.sum ?? 0,
      costUsd: day.measures?.costUsd?.sumDecimal ?? '0',
      p95LatencyMs: day.measures?.latencyMs?.p95 ?? null,
    })),
    funnel: funnel.steps,
    retention: retention.map((cohort) => ({
      week: cohort.cohortStart.toISOString().slice(0, 10),
      users: cohort.users,
      returned: cohort.returned,
    })),
  });
}

/**
 * GET /api/admin/usage?days=14: the usage ledger (`chat.usage`: exact sums over the usage stored
 * with each assistant message) by UTC day, every day of the range present (zeros where nothing
 * happened), and by model. Costs are exact decimal strings in their currency.
 */
export async function usage(ctx: RequestContext): Promise<void> {
  const { scope } = await requireAdmin(ctx);
  const days = Number(ctx.url.searchParams.get('days') ?? '14');
  if (!Number.isInteger(days) || days < 1 || days > 90) {
    throw new HttpError(400, 'validation', 'days must be an integer from 1 to 90.', 'days');
  }
  const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
  const from = new Date(today.getTime() - (days - 1) * DAY_MS);
  const to = new Date(today.getTime() + DAY_MS);
  const [byDay, byModel] = await Promise.all([
    scope.chat.usage({ from, to, groupBy: 'day' }),
    scope.chat.usage({ from, to, groupBy: 'model' }),
  ]);
  const rows = Array.from({ length: days }, (_, index) => {
    const day = new Date(from.getTime() + index * DAY_MS).toISOString().slice(0, 10);
    const found = byDay.filter((row) => row.key === day);
    return {
      day,
      calls: found.reduce((sum, row) => sum + row.calls, 0),
      inputTokens: found.reduce((sum, row) => sum + row.inputTokens, 0),
      outputTokens: found.reduce((sum, row) => sum + row.outputTokens, 0),
      costs: found.flatMap((row) =>
        row.cost === null || row.currency === null ? [] : [{ currency: row.currency, amount: row.cost }],
      ),
    };
  });
  sendJson(ctx.res, 200, {
    from: from.toISOString(),
    to: to.toISOString(),
    days: rows,
    models: byModel.map((row) => ({
      model: row.key,
      calls: row.calls,
      inputTokens: row.inputTokens,
      outputTokens: row.outputTokens,
      currency: row.currency,
      cost: row.cost,
    })),
  });
}

/**
 * GET /api/admin/audit?cursor=: one page of the audit trail, newest first, with actor usernames.
 * Reading the trail is itself audited (`audit.read`).
 */
export async function audit(ctx: RequestContext): Promise<void> {
  const { scope } = await requireAdmin(ctx);
  const cursor = ctx.url.searchParams.get('cursor') ?? undefined;
  const page = await scope.audit.query({ limit: 25, ...(cursor === undefined ? {} : { cursor }) });
  await scope.audit.log({ action: 'audit.read', resourceType: 'audit_log' });
  const names = await usernames(ctx, page.items);
  sendJson(ctx.res, 200, {
    items: page.items.map((entry) => ({
      id: entry.id,
      occurredAt: entry.occurredAt.toISOString(),
      action: entry.action,
      outcome: entry.outcome,
      actor: entry.userId === null ? entry.actorType : (names.get(entry.userId) ?? entry.userId),
      resource: entry.resourceId === null ? entry.resourceType : `${entry.resourceType} ${entry.resourceId}`,
      ip: entry.ip,
      requestId: entry.requestId,
    })),
    nextCursor: page.nextCursor ?? null,
  });
}

/** The usernames of the page's actors (erased users keep their id). */
async function usernames(ctx: RequestContext, entries: readonly AuditEntry[]): Promise<Map<string, string>> {
  const ids = [...new Set(entries.flatMap((entry) => (entry.userId === null ? [] : [entry.userId])))];
  const users = await Promise.all(ids.map((id) => ctx.cb.users.findById(id)));
  return new Map(
    users.flatMap((user) => (user === undefined ? [] : [[user.id, user.username ?? user.email] as const])),
  );
}
