import 'server-only';
import { type Carebase, configFromEnv, createCarebase } from 'carebase';

/** Where the instance lives: a registry-wide symbol, so every copy of this module finds it. */
const INSTANCE = Symbol.for('carebase.examples.next');

type WithCarebase = typeof globalThis & { [INSTANCE]?: Carebase };

/**
 * The process's carebase instance (and its pool), created on first use from the environment
 * (`DATABASE_URL` or `DB_*`, see `configFromEnv`).
 *
 * It is kept on `globalThis` rather than in a module variable: `next dev` re-evaluates modules on
 * every edit (a module variable would leak one pool per reload until PostgreSQL runs out of
 * connections), and Next compiles route handlers and server components into separate module
 * graphs, so even `next start` may evaluate this file more than once per process.
 */
export function carebase(): Carebase {
  const scope = globalThis as WithCarebase;
  scope[INSTANCE] ??= createCarebase({
    ...configFromEnv(),
    users: { permissions: { admin: ['analytics:read', 'users:manage'] } },
  });
  return scope[INSTANCE];
}
