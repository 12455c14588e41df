import { handle } from '../../../lib/http';
import { requireUser } from '../../../lib/session';

/** GET /api/me: the signed-in user (never a password hash), or 401. */
export function GET(): Promise<Response> {
  return handle(async () => {
    const { user, session } = await requireUser();
    return Response.json({ user, session: { id: session.id, expiresAt: session.expiresAt } });
  });
}
