import { AuthenticateInputSchema } from 'carebase/schemas';
import { cookies } from 'next/headers';
import { carebase } from '../../../lib/carebase';
import { handle, isForm, readBody, redirectTo } from '../../../lib/http';
import { requestActor, SESSION_COOKIE } from '../../../lib/session';

const Body = AuthenticateInputSchema.pick({ login: true, password: true });

/**
 * POST /api/login `{ login, password }` (JSON, or the login form): checks the password (with
 * lockout), opens a session and sets its token as an HttpOnly, SameSite=Lax cookie, Secure when
 * the client connected over https. Every failure gets the same answer.
 */
export function POST(request: Request): Promise<Response> {
  return handle(async () => {
    const form = isForm(request);
    const { login, password } = await readBody(request, Body);
    const actor = await requestActor();
    const { ip, userAgent, requestId } = actor;
    const cb = carebase().withActor({ ip, userAgent, requestId });
    const result = await cb.users.authenticate({ login, password, ip, userAgent });
    if (!result.ok) {
      if (form) return redirectTo('/?error=login');
      return Response.json({ error: 'Invalid username or password' }, { status: 401 });
    }
    const user = result.user;
    const scoped = carebase().withActor({ userId: user.id, ip, userAgent, requestId });
    const { token, session } = await scoped.sessions.create({ userId: user.id, ip, userAgent });
    await scoped.analytics.track({ userId: user.id, eventType: 'auth', eventName: 'login' });
    (await cookies()).set(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: actor.https || new URL(request.url).protocol === 'https:',
      path: '/',
      expires: session.expiresAt,
    });
    if (form) return redirectTo('/history');
    return Response.json({ user, expiresAt: session.expiresAt });
  });
}
