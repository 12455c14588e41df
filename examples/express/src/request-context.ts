import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Carebase, CarebaseScope, Session, User } from 'carebase';
import type { Request, RequestHandler, Response } from 'express';

/**
 * Per-request state, kept in `res.locals` under one key and read through the typed accessors
 * below (rather than augmenting Express's global `Locals` type for the whole program).
 */
interface RequestContext {
  /** Echoed in the `X-Request-Id` response header and stored with every audit entry. */
  readonly requestId: string;
  /** carebase scoped to this request's actor: every audited write names the caller. */
  cb: CarebaseScope;
  /** Set by `requireSession`. */
  signedIn?: SignedIn;
}

/** The caller of a request that passed `requireSession`. */
export interface SignedIn {
  readonly user: User;
  readonly session: Session;
}

const KEY = 'carebaseExample';

/** A client's request id is reused only when it is short and plain, so it is safe to log and store. */
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * First middleware: picks the request id (the client's `X-Request-Id` when well-formed, else a
 * fresh UUID), echoes it, and scopes carebase to an anonymous actor with the caller's IP and user
 * agent. `requireSession` narrows the actor to the signed-in user.
 */
export function requestContext(cb: Carebase): RequestHandler {
  return (req, res, next) => {
    const offered = req.get('x-request-id');
    const requestId = offered !== undefined && WELL_FORMED_REQUEST_ID.test(offered) ? offered : randomUUID();
    res.set('X-Request-Id', requestId);
    const context: RequestContext = { requestId, cb: cb.withActor(actorOf(req, requestId)) };
    res.locals[KEY] = context;
    next();
  };
}

/**
 * The client's IP. `req.ip` follows the app's `trust proxy` setting: the socket address by
 * default, the client named in `X-Forwarded-For` only when the proxy in front is trusted
 * (otherwise any client could forge its address in the audit log). Express does not check that a
 * forwarded value is an address; carebase does, so a garbled header is dropped here rather than
 * failing the request.
 */
export function clientIp(req: Request): string | undefined {
  return req.ip !== undefined && isIP(req.ip) !== 0 ? req.ip : undefined;
}

/** Who is calling, as carebase's audit log records it. */
export function actorOf(
  req: Request,
  requestId: string,
  userId?: string,
): { userId?: string; ip?: string; userAgent?: string; requestId: string } {
  const ip = clientIp(req);
  const userAgent = req.get('user-agent');
  return {
    ...(userId === undefined ? {} : { userId }),
    ...(ip === undefined ? {} : { ip }),
    ...(userAgent === undefined ? {} : { userAgent }),
    requestId,
  };
}

function contextOf(res: Response): RequestContext {
  const context = res.locals[KEY] as RequestContext | undefined;
  if (context === undefined) throw new Error('requestContext() must be the first middleware');
  return context;
}

/** This request's id. Safe to call in the error handler even if `requestContext` never ran. */
export function requestIdOf(res: Response): string {
  return (res.locals[KEY] as RequestContext | undefined)?.requestId ?? 'unknown';
}

/** carebase scoped to this request's actor (anonymous, or the signed-in user after `requireSession`). */
export function scopedCarebase(res: Response): CarebaseScope {
  return contextOf(res).cb;
}

/** Records the signed-in caller and re-scopes carebase to them. Used by `requireSession`. */
export function setSignedIn(res: Response, signedIn: SignedIn, cb: CarebaseScope): void {
  const context = contextOf(res);
  context.signedIn = signedIn;
  context.cb = cb;
}

/** The signed-in caller; only valid in handlers mounted after `requireSession`. */
export function signedIn(res: Response): SignedIn {
  const caller = contextOf(res).signedIn;
  if (caller === undefined) throw new Error('route is missing requireSession');
  return caller;
}
