import type { Carebase } from 'carebase';
import { Router } from 'express';
import { definedOnly, queryDate, queryInteger, queryText } from '../http-input.ts';
import { scopedCarebase } from '../request-context.ts';
import { requireRole, requireSession } from '../session.ts';

const DAY_MS = 86_400_000;

/** Admin-only reads: 401 without a session, 403 for any other role. */
export function adminRoutes(cb: Carebase): Router {
  const router = Router();
  router.use(requireSession(cb), requireRole('admin'));

  // GET /admin/audit?userId=&action=&resourceType=&resourceId=&outcome=&from=&to=&limit=&cursor=
  router.get('/audit', async (req, res) => {
    const filters = {
      userId: queryText(req, 'userId'),
      action: queryText(req, 'action'),
      resourceType: queryText(req, 'resourceType'),
      resourceId: queryText(req, 'resourceId'),
      outcome: queryText(req, 'outcome') as 'success' | 'failure' | undefined, // carebase checks it
      from: queryDate(req, 'from'),
      to: queryDate(req, 'to'),
      limit: queryInteger(req, 'limit'),
      cursor: queryText(req, 'cursor'),
    };
    const scoped = scopedCarebase(res);
    // Newest first, keyset-paged like every carebase listing.
    const page = await scoped.audit.query(definedOnly(filters));
    // Reading the audit trail is itself a security event worth a record (names of filters only).
    await scoped.audit.log({
      action: 'audit.read',
      resourceType: 'audit_log',
      metadata: { filters: Object.keys(definedOnly(filters)), returned: page.items.length },
    });
    res.json({ items: page.items, nextCursor: page.nextCursor ?? null });
  });

  // GET /admin/analytics?from=&to=&eventType=   (default: the last 7 days)
  router.get('/analytics', async (req, res) => {
    const to = queryDate(req, 'to') ?? new Date();
    const from = queryDate(req, 'from') ?? new Date(to.getTime() - 7 * DAY_MS);
    const eventType = queryText(req, 'eventType');
    // `{ totalEvents, uniqueUsers, byEvent }`, served from hourly rollups so it stays fast as events grow.
    const summary = await cb.analytics.summary({
      from,
      to,
      ...(eventType === undefined ? {} : { eventType }),
    });
    res.json({ from, to, ...summary });
  });

  return router;
}
