import type { Carebase } from 'carebase';
import express, { type Express } from 'express';
import { errorHandler } from './errors.ts';
import { requestContext, requestIdOf } from './request-context.ts';
import { adminRoutes } from './routes/admin.ts';
import { authRoutes } from './routes/auth.ts';
import { chatRoutes } from './routes/chat.ts';
import { requireJson } from './session.ts';

/** Options of {@link createApp}. */
export interface AppOptions {
  /**
   * Express's `trust proxy` setting. Leave it `false` unless a proxy you run sits in front: it
   * decides whether `req.ip` and `req.secure` (the audit log's IP, the cookie's Secure flag) come
   * from `X-Forwarded-For` / `X-Forwarded-Proto`, headers any client can otherwise forge.
   * Examples: `1` (one proxy hop), `'loopback'`, `'10.0.0.0/8'`.
   * @default false
   */
  readonly trustProxy?: boolean | number | string;
  /** The role self-registered accounts get. @default 'nurse' */
  readonly registrationRole?: string;
  /** Where server-side errors are logged (request id, error code; never bodies). @default console.error */
  readonly log?: (line: string) => void;
}

/**
 * The example's JSON API on a carebase instance. Returns the app without listening, so tests and
 * hosts choose the port (`createApp(cb).listen(0)`). The caller owns `cb` (migrate before,
 * close after).
 *
 * @example
 * ```ts
 * const app = createApp(cb, { trustProxy: 'loopback' });
 * app.listen(3000);
 * ```
 */
export function createApp(cb: Carebase, options: AppOptions = {}): Express {
  const app = express();
  app.set('trust proxy', options.trustProxy ?? false);
  app.disable('x-powered-by');

  app.use(requestContext(cb)); // request id + carebase scoped to the caller, first of all
  app.use(requireJson); // CSRF stance: mutating requests must be JSON (see session.ts)
  app.use(express.json({ limit: '256kb' })); // a chat message is at most 100 kB of UTF-8 by default

  // Public on purpose (load balancers): status only, not the server version.
  app.get('/health', async (_req, res) => {
    const { ok, latencyMs, pool, pendingMigrations } = await cb.health();
    res.status(ok ? 200 : 503).json({ ok, latencyMs, pool, pendingMigrations });
  });

  app.use('/auth', authRoutes(cb, options.registrationRole ?? 'nurse'));
  app.use('/chat', chatRoutes(cb));
  app.use('/admin', adminRoutes(cb));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', requestId: requestIdOf(res) });
  });
  app.use(errorHandler(options.log ?? console.error));
  return app;
}
