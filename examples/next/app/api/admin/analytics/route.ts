import { handle } from '../../../../lib/http';
import { requireAdmin } from '../../../../lib/session';

const DAY_MS = 86_400_000;

/** GET /api/admin/analytics?days=7: event counts and unique users over the last `days` days. */
export function GET(request: Request): Promise<Response> {
  return handle(async () => {
    const { cb } = await requireAdmin();
    const days = Number(new URL(request.url).searchParams.get('days') ?? 7);
    const to = new Date();
    const from = new Date(to.getTime() - days * DAY_MS);
    return Response.json(await cb.analytics.summary({ from, to }));
  });
}
