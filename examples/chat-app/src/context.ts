/** What every route handler gets: the request, its carebase scope and (once checked) its user. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Carebase, CarebaseScope, User } from 'carebase';
import { HttpError, readCookie } from './http.ts';

/** The name of the session cookie. */
export const SESSION_COOKIE = 'sid';

/** Settings of the app, resolved. */
export interface AppSettings {
  /** Add `Secure` to the session cookie (serve over HTTPS). */
  readonly secureCookies: boolean;
  /** Messages per history page. */
  readonly pageSize: number;
}

/** Who is asking, for `cb.withActor`: attached to every audit entry the request writes. */
export interface RequestActor {
  readonly ip?: string;
  readonly userAgent?: string;
  readonly requestId: string;
}

/** One request. */
export interface RequestContext {
  readonly cb: Carebase;
  readonly settings: AppSettings;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The `:name` segments of the route's path (e.g. `id` of `/api/conversations/:id`). */
  readonly params: Readonly<Record<string, string>>;
  readonly actor: RequestActor;
  /** `cb.withActor(actor)` without a user: for work done before the user is known. */
  readonly anonymous: CarebaseScope;
}

/** A request with a valid session. */
export interface SignedIn {
  readonly user: User;
  readonly token: string;
  /** `cb.withActor({ userId, ip, userAgent, requestId })`: every write of the request goes through it. */
  readonly scope: CarebaseScope;
}

/** Validates the session cookie; 401 when it is missing, expired, revoked or unknown. */
export async function requireUser(ctx: RequestContext): Promise<SignedIn> {
  const token = readCookie(ctx.req, SESSION_COOKIE);
  const found = token === undefined ? undefined : await ctx.cb.sessions.validate(token);
  if (token === undefined || found === undefined) {
    throw new HttpError(401, 'unauthenticated', 'Please sign in.');
  }
  return {
    user: found.user,
    token,
    scope: ctx.cb.withActor({ ...ctx.actor, userId: found.user.id }),
  };
}

/** Like {@link requireUser}, and 403 unless the user is an admin. */
export async function requireAdmin(ctx: RequestContext): Promise<SignedIn> {
  const signedIn = await requireUser(ctx);
  if (signedIn.user.role !== 'admin') throw new HttpError(403, 'forbidden', 'Administrators only.');
  return signedIn;
}

/** The fields of a user the browser sees. */
export function publicUser(user: User): { id: string; username: string; displayName: string; role: string } {
  return {
    id: user.id,
    username: user.username ?? user.email,
    displayName: user.displayName ?? user.username ?? user.email,
    role: user.role,
  };
}
