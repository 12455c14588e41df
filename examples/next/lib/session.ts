import 'server-only';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { CarebaseScope, Session, User } from 'carebase';
import { cookies, headers } from 'next/headers';
import { cache } from 'react';
import { carebase } from './carebase';
import { HttpError } from './http';

/** The session cookie: an opaque 256-bit token; carebase stores only its SHA-256. */
export const SESSION_COOKIE = 'sid';

/** Who is calling, for the audit log: attached to every write through `withActor`. */
export interface RequestActor {
  readonly ip?: string;
  readonly userAgent?: string;
  readonly requestId: string;
  /** True when the client reached us over https (directly, or via a trusted proxy). */
  readonly https: boolean;
}

/** A signed-in user, and carebase scoped to them and to this request. */
export interface SignedIn {
  readonly user: User;
  readonly session: Session;
  readonly cb: CarebaseScope;
}

/**
 * How many reverse proxies in front of the app append to `X-Forwarded-For` (env `TRUST_PROXY`:
 * a hop count, or `true` for one). Unset: forwarded headers are ignored, since any client can
 * send them.
 */
function trustedHops(): number {
  const raw = process.env.TRUST_PROXY?.trim().toLowerCase() ?? '';
  if (raw === 'true') return 1;
  return /^\d+$/.test(raw) ? Number(raw) : 0;
}

/**
 * The client's IP, user agent and a request id, read once per request. The IP is the entry the
 * outermost trusted proxy appended to `X-Forwarded-For` (the left-hand entries are whatever the
 * client sent); without TRUST_PROXY there is none, as route handlers do not see the socket.
 */
export const requestActor = cache(async (): Promise<RequestActor> => {
  const list = await headers();
  const hops = trustedHops();
  const forwarded = (list.get('x-forwarded-for') ?? '').split(',').map((entry) => entry.trim());
  const candidate = hops > 0 ? forwarded[forwarded.length - hops] : undefined;
  const ip = candidate !== undefined && isIP(candidate) !== 0 ? candidate : undefined;
  const userAgent = list.get('user-agent') ?? undefined;
  const incoming = list.get('x-request-id') ?? '';
  const requestId = /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
  const proto = hops > 0 ? list.get('x-forwarded-proto')?.split(',')[0]?.trim() : undefined;
  return {
    ...(ip === undefined ? {} : { ip }),
    ...(userAgent === undefined ? {} : { userAgent }),
    requestId,
    https: proto === 'https',
  };
});

/** carebase scoped to this request's actor (no user yet): for register and login. */
export async function anonymousScope(): Promise<CarebaseScope> {
  const { ip, userAgent, requestId } = await requestActor();
  return carebase().withActor({ ip, userAgent, requestId });
}

/**
 * The signed-in user from the session cookie, or `null`. Validating is one indexed lookup
 * (idle and absolute timeouts are checked in SQL); memoized per request in server components.
 */
export const getSession = cache(async (): Promise<SignedIn | null> => {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  if (token === undefined || token === '') return null;
  const found = await carebase().sessions.validate(token);
  if (found === undefined) return null;
  const { ip, userAgent, requestId } = await requestActor();
  return {
    user: found.user,
    session: found.session,
    cb: carebase().withActor({ userId: found.user.id, ip, userAgent, requestId }),
  };
});

/** The signed-in user, or a 401 for the route handler to answer. */
export async function requireUser(): Promise<SignedIn> {
  const signedIn = await getSession();
  if (signedIn === null) throw new HttpError(401, 'Not signed in');
  return signedIn;
}

/** A signed-in user allowed to read analytics (admins), or a 401 / 403. */
export async function requireAdmin(): Promise<SignedIn> {
  const signedIn = await requireUser();
  if (!carebase().users.can(signedIn.user, 'analytics:read')) throw new HttpError(403, 'Admins only');
  return signedIn;
}
