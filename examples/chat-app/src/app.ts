/**
 * The chat app's HTTP server, on `node:http`: a handful of JSON routes over carebase and three
 * static files. `createChatApp(cb)` returns the server without listening, for server.ts and tests.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Carebase, DEFAULT_ROLES, isCarebaseError } from 'carebase';
import type { AppSettings, RequestActor, RequestContext } from './context.ts';
import { HttpError, sendJson } from './http.ts';
import * as admin from './routes/admin.ts';
import * as auth from './routes/auth.ts';
import * as branches from './routes/branches.ts';
import * as chat from './routes/chat.ts';
import * as conversations from './routes/conversations.ts';

/**
 * The analytics options the app needs: the measures of each answer (declared so carebase
 * validates them and rolls them up). Pass them to `createCarebase({ analytics })`.
 */
export const CHAT_APP_ANALYTICS = {
  measures: { 'chat.answer': { tokens: 'integer', costUsd: 'decimal', latencyMs: 'integer' } },
} as const;

/**
 * The user options the app needs: carebase's roles plus `patient` (a patient shares their
 * conversation with a clinician). Pass them to `createCarebase({ users })`.
 */
export const CHAT_APP_USERS: { readonly roles: string[] } = { roles: [...DEFAULT_ROLES, 'patient'] };

/** Options of {@link createChatApp}. */
export interface ChatAppOptions {
  /** Add `Secure` to the session cookie: set it when the app is served over HTTPS. @default false */
  readonly secureCookies?: boolean;
  /** Messages per history page. @default 30 */
  readonly pageSize?: number;
  /** Where unexpected errors are reported (a request id and an error code, never content). */
  readonly log?: (line: string) => void;
}

type Handler = (ctx: RequestContext) => Promise<void>;

const ROUTES: Record<string, Handler> = {
  'POST /api/login': auth.login,
  'POST /api/logout': auth.logout,
  'GET /api/me': auth.me,
  'GET /api/conversations': conversations.list,
  'POST /api/conversations': conversations.create,
  'PATCH /api/conversations/:id': conversations.update,
  'GET /api/conversations/:id/participants': conversations.participants,
  'POST /api/conversations/:id/branch': branches.switchBranch,
  'POST /api/messages/:id/edit': branches.edit,
  'POST /api/messages/:id/regenerate': branches.regenerate,
  'GET /api/messages': chat.history,
  'POST /api/messages': chat.send,
  'GET /api/search': chat.search,
  'GET /api/export': chat.exportChat,
  'GET /api/admin/summary': admin.summary,
  'GET /api/admin/audit': admin.audit,
  'GET /api/admin/dashboard': admin.dashboard,
  'GET /api/admin/usage': admin.usage,
};

/** The route for `method` and `path`: an exact key, or a pattern whose `:id` segment matches one segment. */
function findRoute(
  method: string,
  path: string,
): { handler: Handler; params: Record<string, string> } | undefined {
  const exact = ROUTES[`${method} ${path}`];
  if (exact !== undefined) return { handler: exact, params: {} };
  for (const [key, handler] of Object.entries(ROUTES)) {
    const [routeMethod, pattern = ''] = key.split(' ');
    const params = matchPath(pattern, path);
    if (routeMethod === method && params !== undefined) return { handler, params };
  }
  return undefined;
}

/** The `:name` segments of `pattern` in `path`, or undefined when the path does not fit. */
function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const have = path.split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of want.entries()) {
    const actual = have[index] ?? '';
    if (segment.startsWith(':') && actual !== '') {
      const value = decodeSegment(actual);
      if (value === undefined) return undefined;
      params[segment.slice(1)] = value;
    } else if (segment !== actual) return undefined;
  }
  return params;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined; // malformed percent-encoding: no route (404)
  }
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/styles.css': { file: 'styles.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/** Sent with every response: the page loads nothing but its own files. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Creates the chat app's server on `cb` (not listening yet). */
export function createChatApp(cb: Carebase, options: ChatAppOptions = {}): Server {
  const settings: AppSettings = {
    secureCookies: options.secureCookies ?? false,
    pageSize: options.pageSize ?? 30,
  };
  const log = options.log ?? ((line: string) => console.error(line));
  const files = new Map(
    Object.entries(STATIC).map(([path, { file, type }]) => [
      path,
      { type, body: readFileSync(new URL(`../public/${file}`, import.meta.url)) },
    ]),
  );

  return createServer((req, res) => {
    const requestId = randomUUID();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('x-request-id', requestId);
    handle(cb, settings, files, req, res, requestId).catch((error: unknown) => {
      respondWithError(res, error, requestId, log);
    });
  });
}

async function handle(
  cb: Carebase,
  settings: AppSettings,
  files: Map<string, { type: string; body: Buffer }>,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://app.invalid');
  const method = req.method ?? 'GET';
  const file = files.get(url.pathname);
  if (file !== undefined && (method === 'GET' || method === 'HEAD')) {
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' });
    res.end(method === 'HEAD' ? undefined : file.body);
    return;
  }
  const route = findRoute(method, url.pathname);
  if (route === undefined) {
    const known = Object.keys(ROUTES).some(
      (key) => matchPath(key.slice(key.indexOf(' ') + 1), url.pathname) !== undefined,
    );
    throw known
      ? new HttpError(405, 'method_not_allowed', 'Method not allowed.')
      : new HttpError(404, 'not_found', 'Not found.');
  }
  if (method !== 'GET' && !sameOrigin(req))
    throw new HttpError(403, 'cross_origin', 'Cross-origin request refused.');
  const actor: RequestActor = {
    requestId,
    ...(req.socket.remoteAddress === undefined ? {} : { ip: req.socket.remoteAddress }),
    ...(req.headers['user-agent'] === undefined ? {} : { userAgent: req.headers['user-agent'] }),
  };
  await route.handler({
    cb,
    settings,
    req,
    res,
    url,
    params: route.params,
    actor,
    anonymous: cb.withActor(actor),
  });
}

/** A browser's cross-site request carries a foreign Origin; same-origin or non-browser ones do not. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function respondWithError(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  log: (line: string) => void,
): void {
  if (res.headersSent) {
    log(`chat-app: request ${requestId} failed after the response started (${errorCode(error)})`);
    res.destroy();
    return;
  }
  if (error instanceof HttpError) {
    sendJson(res, error.status, { error: error.code, message: error.message, field: error.field ?? null });
  } else if (isCarebaseError(error, 'VALIDATION_FAILED')) {
    // carebase's messages name the field, never the value: safe to show.
    sendJson(res, 400, { error: 'validation', message: error.message, field: error.field ?? null });
  } else if (isCarebaseError(error, 'NOT_FOUND')) {
    sendJson(res, 404, { error: 'not_found', message: 'Not found.', field: null });
  } else if (isCarebaseError(error, 'FORBIDDEN')) {
    sendJson(res, 403, { error: 'forbidden', message: 'Not allowed.', field: null });
  } else if (isCarebaseError(error, 'CONFLICT')) {
    // e.g. a rename with a stale expectedVersion: someone changed the conversation meanwhile.
    sendJson(res, 409, {
      error: 'conflict',
      message: 'It was changed meanwhile: reload and try again.',
      field: null,
    });
  } else {
    log(`chat-app: request ${requestId} failed (${errorCode(error)})`);
    sendJson(res, 500, { error: 'internal', message: 'Something went wrong.', field: null });
  }
}

/** A carebase error's code or an error's class name: never its message, which may hold values. */
function errorCode(error: unknown): string {
  if (isCarebaseError(error)) return error.code;
  return error instanceof Error ? error.name : typeof error;
}
