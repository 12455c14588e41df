import type { Carebase, CreatedSession } from 'carebase';
import type { CookieOptions, Request, RequestHandler, Response } from 'express';
import { actorOf, requestIdOf, setSignedIn, signedIn } from './request-context.ts';

/** Name of the session cookie. It holds carebase's opaque token; the database stores only its SHA-256. */
export const SESSION_COOKIE = 'sid';

/**
 * The cookie's flags:
 * - `HttpOnly`: page scripts cannot read the token, so an XSS bug cannot exfiltrate it.
 * - `SameSite=Lax`: browsers leave it off cross-site subrequests (forms POSTed from another site,
 *   fetches, iframes), the core of the CSRF defence (see `requireJson`).
 * - `Secure` when the request arrived over HTTPS. `req.secure` honours `trust proxy`: behind a TLS
 *   terminating proxy it reads `X-Forwarded-Proto`, but only from a proxy the app trusts. Over
 *   plain http (local development) a Secure cookie would be dropped by the browser.
 */
function cookieOptions(req: Request): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' };
}

/** Sets the session cookie; it lives as long as the session's absolute lifetime. */
export function setSessionCookie(req: Request, res: Response, created: CreatedSession): void {
  const maxAge = Math.max(0, created.session.expiresAt.getTime() - Date.now());
  res.cookie(SESSION_COOKIE, created.token, { ...cookieOptions(req), maxAge });
}

/** Clears the session cookie (same flags, or browsers keep the old one). */
export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
}

/** The session token from the `Cookie` header, if any (Express 5 no longer parses cookies itself). */
export function sessionToken(req: Request): string | undefined {
  for (const pair of (req.get('cookie') ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at !== -1 && pair.slice(0, at).trim() === SESSION_COOKIE) return pair.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * Lets a request through only with a live session: unknown, revoked, idle, expired tokens and
 * disabled users all get the same 401. carebase decides all of that in one indexed query
 * (`sessions.validate`). The request's carebase scope then names the user, so every audited write
 * below is attributed to them, with their IP, user agent and request id.
 */
export function requireSession(cb: Carebase): RequestHandler {
  return async (req, res, next) => {
    const token = sessionToken(req);
    const found = token === undefined ? undefined : await cb.sessions.validate(token);
    if (found === undefined) {
      res.status(401).json({ error: 'unauthenticated', requestId: requestIdOf(res) });
      return;
    }
    setSignedIn(res, found, cb.withActor(actorOf(req, requestIdOf(res), found.user.id)));
    next();
  };
}

/** After `requireSession`: 403 unless the user has this role. */
export function requireRole(role: string): RequestHandler {
  return (_req, res, next) => {
    if (signedIn(res).user.role !== role) {
      res.status(403).json({ error: 'forbidden', requestId: requestIdOf(res) });
      return;
    }
    next();
  };
}

/**
 * Mutating requests must say `Content-Type: application/json`. An HTML form on another site can
 * only send urlencoded, multipart or text/plain bodies, and a cross-origin `fetch` with a JSON
 * content type needs a CORS preflight this app never grants. Together with `SameSite=Lax` this
 * closes CSRF without tokens. (Checked on the header itself: `req.is()` is null for an empty
 * body, which a bodyless `POST /auth/logout` legitimately has.)
 */
export const requireJson: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
    next();
    return;
  }
  const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    res.status(415).json({ error: 'unsupported_media_type', requestId: requestIdOf(res) });
    return;
  }
  next();
};
