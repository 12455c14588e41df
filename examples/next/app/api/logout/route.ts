import { cookies } from 'next/headers';
import { handle, isForm, redirectTo } from '../../../lib/http';
import { getSession, SESSION_COOKIE } from '../../../lib/session';

/** POST /api/logout: revokes the session (the row is kept, marked `logout`) and clears the cookie. */
export function POST(request: Request): Promise<Response> {
  return handle(async () => {
    const signedIn = await getSession();
    if (signedIn !== null) await signedIn.cb.sessions.revoke(signedIn.session.id, 'logout');
    (await cookies()).delete(SESSION_COOKIE);
    return isForm(request) ? redirectTo('/') : new Response(null, { status: 204 });
  });
}
