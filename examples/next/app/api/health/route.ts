import { carebase } from '../../../lib/carebase';

/** GET /api/health: 200 when the database answers and no migration is pending, else 503. */
export async function GET(): Promise<Response> {
  const health = await carebase().health();
  return Response.json(health, { status: health.ok ? 200 : 503 });
}
