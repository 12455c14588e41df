/** Login, logout and "who am I". */
import type { RequestContext } from '../context.ts';
import { publicUser, requireUser, SESSION_COOKIE } from '../context.ts';
import { HttpError, readCookie, readJson, sendJson, sessionCookie, stringField } from '../http.ts';

/** POST /api/login `{ username, password }`: checks the password and sets the session cookie. */
export async function login(ctx: RequestContext): Promise<void> {
  const body = await readJson(ctx.req);
  const username = stringField(body, 'username', 320);
  const password = stringField(body, 'password', 1024);
  const { ip, userAgent } = ctx.actor;
  const result = await ctx.anonymous.users.authenticate({
    login: username,
    password,
    ...(ip === undefined ? {} : { ip }),
    ...(userAgent === undefined ? {} : { userAgent }),
  });
  if (!result.ok) {
    await ctx.anonymous.analytics.track({ eventType: 'auth', eventName: 'auth.login_failed' });
    // The same answer for an unknown user, a wrong password, a locked or a disabled account.
    throw new HttpError(401, 'invalid_credentials', 'Wrong username or password.');
  }
  const user = result.user;
  const scope = ctx.cb.withActor({ ...ctx.actor, userId: user.id });
  const { token } = await scope.sessions.create({
    userId: user.id,
    ...(ip === undefined ? {} : { ip }),
    ...(userAgent === undefined ? {} : { userAgent }),
  });
  await scope.analytics.track({ userId: user.id, eventType: 'auth', eventName: 'auth.login' });
  ctx.res.setHeader('set-cookie', sessionCookie(SESSION_COOKIE, token, ctx.settings.secureCookies));
  sendJson(ctx.res, 200, { user: publicUser(user) });
}

/** POST /api/logout: revokes the session (if any) and clears the cookie. Always 204. */
export async function logout(ctx: RequestContext): Promise<void> {
  const token = readCookie(ctx.req, SESSION_COOKIE);
  if (token !== undefined) {
    const found = await ctx.cb.sessions.validate(token);
    const scope =
      found === undefined ? ctx.anonymous : ctx.cb.withActor({ ...ctx.actor, userId: found.user.id });
    await scope.sessions.revoke(token, 'logout');
    if (found !== undefined) {
      await scope.analytics.track({ userId: found.user.id, eventType: 'auth', eventName: 'auth.logout' });
    }
  }
  ctx.res.setHeader('set-cookie', sessionCookie(SESSION_COOKIE, undefined, ctx.settings.secureCookies));
  ctx.res.writeHead(204, { 'cache-control': 'no-store' }).end();
}

/** GET /api/me: the signed-in user, or 401. */
export async function me(ctx: RequestContext): Promise<void> {
  const { user } = await requireUser(ctx);
  sendJson(ctx.res, 200, { user: publicUser(user) });
}
