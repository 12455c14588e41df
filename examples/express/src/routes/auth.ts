import type { AuthenticateInput, Carebase, User, UserCreateInput } from 'carebase';
import { Router } from 'express';
import { jsonBody } from '../http-input.ts';
import { actorOf, clientIp, requestIdOf, scopedCarebase, signedIn } from '../request-context.ts';
import { clearSessionCookie, requireSession, sessionToken, setSessionCookie } from '../session.ts';

/** What clients see of an account: no lockout counters, no timestamps of failed logins. */
export function publicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
  };
}

/** `POST /auth/register`, `POST /auth/login`, `POST /auth/logout`, `GET /auth/me`. */
export function authRoutes(cb: Carebase, registrationRole: string): Router {
  const router = Router();

  router.post('/register', async (req, res) => {
    const body = jsonBody(req);
    // Fields go to carebase as sent: its zod schema checks each one before any SQL (400 on a bad
    // one). The role is never taken from the body: self-registration cannot make an admin.
    const input = {
      username: body.username,
      email: body.email,
      password: body.password,
      displayName: body.displayName,
      role: registrationRole,
    } as UserCreateInput;
    const user = await scopedCarebase(res).users.create(input); // duplicate -> ConflictError -> 409
    await cb.analytics.track({ userId: user.id, eventType: 'auth', eventName: 'register' });
    res.status(201).json({ user: publicUser(user) });
  });

  router.post('/login', async (req, res) => {
    const body = jsonBody(req);
    const ip = clientIp(req);
    const userAgent = req.get('user-agent');
    const result = await scopedCarebase(res).users.authenticate({
      login: body.login,
      password: body.password,
      ...(ip === undefined ? {} : { ip }),
      ...(userAgent === undefined ? {} : { userAgent }),
    } as AuthenticateInput);

    if (!result.ok) {
      await cb.analytics.track({ eventType: 'auth', eventName: 'login_failed' });
      if (result.reason === 'locked') {
        // 429, not 423: the client should back off and retry later, which is what 429 and its
        // Retry-After header say (423 Locked is WebDAV's resource lock). The window is the
        // configured lockout duration, an upper bound of the time left.
        const seconds = Math.ceil(cb.config.users.lockout.durationMs / 1000);
        res.set('Retry-After', String(seconds));
        res.status(429).json({ error: 'too_many_attempts', requestId: requestIdOf(res) });
        return;
      }
      // Unknown login, wrong password and disabled account: one answer, so nobody can tell which
      // usernames exist (carebase also makes the three take the same time).
      res.status(401).json({ error: 'invalid_credentials', requestId: requestIdOf(res) });
      return;
    }

    // From here on the actor is known: the session.create audit entry names the user.
    const asUser = cb.withActor(actorOf(req, requestIdOf(res), result.user.id));
    const previous = sessionToken(req);
    if (previous !== undefined) await asUser.sessions.revoke(previous, 'replaced'); // no stale sessions
    const created = await asUser.sessions.create({
      userId: result.user.id,
      ...(ip === undefined ? {} : { ip }),
      ...(userAgent === undefined ? {} : { userAgent }),
    });
    await cb.analytics.track({ userId: result.user.id, eventType: 'auth', eventName: 'login' });
    setSessionCookie(req, res, created);
    res.json({ user: publicUser(result.user), expiresAt: created.session.expiresAt });
  });

  router.post('/logout', requireSession(cb), async (req, res) => {
    // Revoked, not deleted: the row (and its session.revoke audit entry) stays as a record.
    await scopedCarebase(res).sessions.revoke(signedIn(res).session.id, 'logout');
    clearSessionCookie(req, res);
    res.status(204).end();
  });

  router.get('/me', requireSession(cb), (_req, res) => {
    res.json({ user: publicUser(signedIn(res).user) });
  });

  return router;
}
