import type * as OtelApi from '@opentelemetry/api';

/** The slice of `@opentelemetry/api` carebase uses (type only: nothing of it is bundled). */
export type OpenTelemetryApi = typeof OtelApi;

/** The package name, assembled at run time so that bundlers do not try to resolve it. */
const PACKAGE = ['@opentelemetry', 'api'].join('/');

let loaded: { readonly api: OpenTelemetryApi | undefined } | undefined;

/**
 * `@opentelemetry/api` when the host installed it, else `undefined`; loaded once, lazily, and
 * synchronously in both builds (ESM and CJS) through `createRequire`. It is an optional peer
 * dependency: every copy of it shares one global registry of providers, so the copy carebase loads
 * sees the tracer and meter providers the host registered, whichever module format the host uses.
 */
export function loadOpenTelemetry(): OpenTelemetryApi | undefined {
  loaded ??= { api: tryRequire() };
  return loaded.api;
}

function tryRequire(): OpenTelemetryApi | undefined {
  const { createRequire } = process.getBuiltinModule('node:module');
  for (const base of [import.meta.url, `${process.cwd()}/`]) {
    try {
      const api = createRequire(base)(PACKAGE) as OpenTelemetryApi;
      if (typeof api?.trace?.getTracer === 'function' && typeof api.context?.with === 'function') return api;
    } catch {
      // Not installed where this base resolves from: try the next, else run without OpenTelemetry.
    }
  }
  return undefined;
}
